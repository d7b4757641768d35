/**
 * A masked description of a message for logs. PAN-bearing fields show first 6 and last 4 with
 * the length kept visible; sensitive authentication data (track data, PIN block, CVV-bearing
 * fields, EMV data) shows only its length.
 */
import type { IsoMessage } from './message';

/** PAN fields: DE 2 (PAN) and DE 34 (extended PAN). */
const PAN_FIELDS: ReadonlySet<number> = new Set([2, 34]);

/**
 * Hidden entirely:
 * - 35, 36, 45: track 2, track 3, track 1 (PAN, service code, CVV1);
 * - 52: PIN block; 53: security control information (key references);
 * - 55: EMV ICC data (cryptograms; may echo track 2 equivalent data);
 * - 48: Mastercard subelement 92 carries CVC2; 126: Visa 126.10 carries CVV2;
 * - 127: private data that some processors use for track and CVV data.
 */
const HIDDEN_FIELDS: ReadonlySet<number> = new Set([35, 36, 45, 48, 52, 53, 55, 126, 127]);

/** Shortest PAN we show 6 + 4 of; shorter values would reveal most of their digits. */
const MIN_MASKABLE_PAN = 13;

export function maskPan(pan: string): string {
  if (pan.length < MIN_MASKABLE_PAN) return '*'.repeat(pan.length);
  return pan.slice(0, 6) + '*'.repeat(pan.length - 10) + pan.slice(-4);
}

export function describeMasked(message: IsoMessage): Record<string, string> {
  const description: Record<string, string> = { MTI: message.mti };
  for (const de of message.presentFields()) {
    const key = `DE ${de}`;
    if (HIDDEN_FIELDS.has(de)) {
      description[key] = `[hidden, ${message.getBytes(de)!.length} bytes]`;
    } else if (PAN_FIELDS.has(de)) {
      description[key] = maskPan(message.getString(de)!);
    } else {
      description[key] = message.getString(de)!;
    }
  }
  return description;
}
