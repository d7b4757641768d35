/**
 * Length prefixes (LL to LLLLLL in ASCII, EBCDIC or BCD digits; 1 to 3 binary bytes), parsed
 * with digit loops over the bytes rather than parseInt(toString()).
 */
import { PrefixEncoding, type FieldSpec } from './dialect-types';

/** Returned by readPrefix when a digit or nibble is not decimal. */
export const BAD_PREFIX = -1;

/** Reads the length prefix at pos; the caller has checked that prefixBytes bytes are there. */
export function readPrefix(spec: FieldSpec, frame: Buffer, pos: number): number {
  let value = 0;
  switch (spec.prefixEncoding) {
    case PrefixEncoding.Ascii:
      for (let i = 0; i < spec.prefixDigits; i++) {
        const d = frame[pos + i]! - 0x30;
        if (d < 0 || d > 9) return BAD_PREFIX;
        value = value * 10 + d;
      }
      return value;
    case PrefixEncoding.Ebcdic:
      for (let i = 0; i < spec.prefixDigits; i++) {
        const d = frame[pos + i]! - 0xf0;
        if (d < 0 || d > 9) return BAD_PREFIX;
        value = value * 10 + d;
      }
      return value;
    case PrefixEncoding.Bcd: {
      // An odd digit count is right-aligned: the first nibble is a zero pad.
      const nibbles = spec.prefixBytes * 2;
      for (let n = 0; n < nibbles; n++) {
        const byte = frame[pos + (n >> 1)]!;
        const d = (n & 1) === 0 ? byte >> 4 : byte & 0x0f;
        if (d > 9) return BAD_PREFIX;
        value = value * 10 + d;
      }
      return value > spec.prefixMax ? BAD_PREFIX : value;
    }
    default:
      for (let i = 0; i < spec.prefixBytes; i++) value = value * 256 + frame[pos + i]!;
      return value;
  }
}

/** Writes the length prefix at pos; value has been checked against the field's maximum. */
export function writePrefix(spec: FieldSpec, target: Buffer, pos: number, value: number): void {
  // Values are below 2^24 (a 3-byte prefix), so `| 0` is an exact integer division.
  switch (spec.prefixEncoding) {
    case PrefixEncoding.Ascii:
    case PrefixEncoding.Ebcdic: {
      const zero = spec.prefixEncoding === PrefixEncoding.Ascii ? 0x30 : 0xf0;
      for (let i = spec.prefixDigits - 1; i >= 0; i--) {
        const next = (value / 10) | 0;
        target[pos + i] = zero + value - next * 10;
        value = next;
      }
      return;
    }
    case PrefixEncoding.Bcd:
      for (let i = spec.prefixBytes - 1; i >= 0; i--) {
        const tens = (value / 10) | 0;
        const next = (tens / 10) | 0;
        target[pos + i] = ((tens - next * 10) << 4) | (value - tens * 10);
        value = next;
      }
      return;
    default:
      for (let i = spec.prefixBytes - 1; i >= 0; i--) {
        target[pos + i] = value & 0xff;
        value >>>= 8;
      }
  }
}
