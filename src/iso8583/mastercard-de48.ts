/**
 * Mastercard-style DE 48: a one-character transaction category code (TCC), then subelements of
 * a 2-digit id, a 2-digit length and the value (public description: jpos#392, moov#421, and
 * Shulyaka/iso8583tools fields_mast.frm). The field's characters are already decoded (EBCDIC to
 * text) when these functions see them.
 */
import { Iso8583DecodeError } from './errors';

export interface De48Subelement {
  /** Two-digit subelement id, e.g. "42". */
  readonly tag: string;
  readonly value: string;
}

export interface MastercardDe48 {
  /** Transaction category code: the first character of DE 48. */
  readonly tcc: string;
  readonly subelements: readonly De48Subelement[];
}

const TAG_DIGITS = 2;
const LENGTH_DIGITS = 2;
/** Two decimal digits carry at most 99. */
const MAX_SUBELEMENT_LENGTH = 99;

/**
 * Walks TCC + subelements over bytes[start, end) whose digits are `zero`..`zero + 9` (0x30 for
 * ASCII, 0xF0 for EBCDIC). Returns -1 if well formed, else the offset of the problem.
 */
export function tccTlvProblemAt(bytes: Buffer, start: number, end: number, zero: number): number {
  if (end - start < 1) return start;
  let p = start + 1;
  while (p < end) {
    if (p + TAG_DIGITS + LENGTH_DIGITS > end) return p;
    for (let i = 0; i < TAG_DIGITS + LENGTH_DIGITS; i++) {
      const d = bytes[p + i]! - zero;
      if (d < 0 || d > 9) return p + i;
    }
    const length = (bytes[p + 2]! - zero) * 10 + (bytes[p + 3]! - zero);
    p += TAG_DIGITS + LENGTH_DIGITS;
    if (p + length > end) return p;
    p += length;
  }
  return -1;
}

export function parseMastercardDe48(de48: string): MastercardDe48 | Iso8583DecodeError {
  if (typeof de48 !== 'string' || de48.length < 1) {
    return new Iso8583DecodeError('ISO_BAD_COMPOSITE', 'DE 48', 0,
      'missing transaction category code');
  }
  const subelements: De48Subelement[] = [];
  let p = 1;
  while (p < de48.length) {
    if (p + TAG_DIGITS + LENGTH_DIGITS > de48.length) {
      return new Iso8583DecodeError('ISO_BAD_COMPOSITE', 'DE 48', p, 'subelement header truncated');
    }
    const header = de48.slice(p, p + TAG_DIGITS + LENGTH_DIGITS);
    if (!/^[0-9]{4}$/.test(header)) {
      return new Iso8583DecodeError('ISO_BAD_COMPOSITE', 'DE 48', p,
        'subelement id or length not digits');
    }
    const length = Number(header.slice(TAG_DIGITS));
    p += TAG_DIGITS + LENGTH_DIGITS;
    if (p + length > de48.length) {
      return new Iso8583DecodeError('ISO_BAD_COMPOSITE', 'DE 48', p, 'subelement value truncated');
    }
    subelements.push({ tag: header.slice(0, TAG_DIGITS), value: de48.slice(p, p + length) });
    p += length;
  }
  return { tcc: de48[0]!, subelements };
}

/** Builds DE 48 text. Throws RangeError for a bad TCC, id or an over-long value. */
export function encodeMastercardDe48(de48: MastercardDe48): string {
  if (typeof de48.tcc !== 'string' || de48.tcc.length !== 1) {
    throw new RangeError('DE 48 transaction category code must be one character');
  }
  let text = de48.tcc;
  for (const sub of de48.subelements) {
    if (!/^[0-9]{2}$/.test(sub.tag)) throw new RangeError('DE 48 subelement id must be two digits');
    if (sub.value.length > MAX_SUBELEMENT_LENGTH) {
      throw new RangeError(`DE 48 subelement ${sub.tag} longer than ${MAX_SUBELEMENT_LENGTH}`);
    }
    text += sub.tag + String(sub.value.length).padStart(LENGTH_DIGITS, '0') + sub.value;
  }
  return text;
}
