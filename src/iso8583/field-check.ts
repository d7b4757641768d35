/**
 * Decode-time checks of one field's bytes: content class and composite structure. Checking at
 * decode means lazy reads later cannot fail, and a peer's bad field is answered with a format
 * error naming the field. Each function returns -1 when the bytes are good, else the offset of
 * the first bad byte.
 */
import { CompositeKind, DataEncoding, type FieldSpec } from './dialect-types';
import { EBCDIC037_TO_LATIN1, EBCDIC1047_TO_LATIN1 } from './charsets';
import { berTlvProblemAt } from './emv-tlv';
import { tccTlvProblemAt } from './mastercard-de48';

const CHAR_C = 0x43;
const CHAR_D = 0x44;

export function contentProblemAt(spec: FieldSpec, frame: Buffer, start: number, bytes: number,
  units: number): number {
  let bad: number;
  switch (spec.encoding) {
    case DataEncoding.Ascii:
      bad = asciiProblemAt(spec.allowed, frame, start, start + bytes);
      break;
    case DataEncoding.Ebcdic037:
      bad = ebcdicProblemAt(spec.allowed, frame, start, start + bytes, EBCDIC037_TO_LATIN1);
      break;
    case DataEncoding.Ebcdic1047:
      bad = ebcdicProblemAt(spec.allowed, frame, start, start + bytes, EBCDIC1047_TO_LATIN1);
      break;
    case DataEncoding.Bcd:
      return bcdProblemAt(spec, frame, start, units);
    default:
      return -1;
  }
  if (bad >= 0 || !spec.signedAmount || bytes === 0) return bad;
  return signedAmountProblemAt(spec, frame, start, start + bytes);
}

function asciiProblemAt(allowed: Uint8Array, frame: Buffer, start: number, end: number): number {
  for (let p = start; p < end; p++) if (allowed[frame[p]!] !== 1) return p;
  return -1;
}

function ebcdicProblemAt(allowed: Uint8Array, frame: Buffer, start: number, end: number,
  table: Uint8Array): number {
  for (let p = start; p < end; p++) if (allowed[table[frame[p]!]!] !== 1) return p;
  return -1;
}

/** x+n: a C (credit) or D (debit) sign, then digits only. */
function signedAmountProblemAt(spec: FieldSpec, frame: Buffer, start: number, end: number): number {
  const table = spec.encoding === DataEncoding.Ascii ? undefined
    : spec.encoding === DataEncoding.Ebcdic037 ? EBCDIC037_TO_LATIN1 : EBCDIC1047_TO_LATIN1;
  const first = table === undefined ? frame[start]! : table[frame[start]!]!;
  if (first !== CHAR_C && first !== CHAR_D) return start;
  for (let p = start + 1; p < end; p++) {
    const code = table === undefined ? frame[p]! : table[frame[p]!]!;
    if (code < 0x30 || code > 0x39) return p;
  }
  return -1;
}

/** Digit nibbles 0-9 (and D, the separator, for track 2); the pad nibble must be the dialect's. */
function bcdProblemAt(spec: FieldSpec, frame: Buffer, start: number, digits: number): number {
  const odd = (digits & 1) === 1;
  const track = spec.content === 'z';
  let nibble = odd && !spec.bcdLeftAligned ? 1 : 0;
  if (odd) {
    const padAt = spec.bcdLeftAligned ? start + (digits >> 1) : start;
    const padValue = spec.bcdLeftAligned ? frame[padAt]! & 0x0f : frame[padAt]! >> 4;
    if (padValue !== spec.padNibble) return padAt;
  }
  for (let i = 0; i < digits; i++, nibble++) {
    const byte = frame[start + (nibble >> 1)]!;
    const d = (nibble & 1) === 0 ? byte >> 4 : byte & 0x0f;
    if (d > 9 && !(track && d === 0x0d)) return start + (nibble >> 1);
  }
  return -1;
}

export function compositeProblemAt(spec: FieldSpec, frame: Buffer, start: number,
  bytes: number): number {
  switch (spec.composite) {
    case CompositeKind.BerTlv:
      return berTlvProblemAt(frame, start, start + bytes);
    case CompositeKind.TccTlv:
      return tccTlvProblemAt(frame, start, start + bytes,
        spec.encoding === DataEncoding.Ascii ? 0x30 : 0xf0);
    default:
      return -1;
  }
}
