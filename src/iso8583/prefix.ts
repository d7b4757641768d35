/**
 * Length prefixes (LL to LLLLLL in ASCII, EBCDIC or BCD digits; 1 to 3 binary bytes), parsed
 * with digit loops over the bytes rather than parseInt(toString()).
 */
import { PrefixEncoding, type FieldSpec } from './dialect-types';

/** Returned by readPrefix when a digit or nibble is not decimal. */
export const BAD_PREFIX = -1;

/*
 * One small function per prefix encoding: V8 inlines only call targets that ran, so a dialect's
 * hot path carries the bytecode of its own encoding and not the other three.
 */

/** Reads the length prefix at pos; the caller has checked that prefixBytes bytes are there. */
export function readPrefix(spec: FieldSpec, frame: Buffer, pos: number): number {
  switch (spec.prefixEncoding) {
    case PrefixEncoding.Ascii:
      return readDecimalPrefix(frame, pos, spec.prefixDigits, 0x30);
    case PrefixEncoding.Ebcdic:
      return readDecimalPrefix(frame, pos, spec.prefixDigits, 0xf0);
    case PrefixEncoding.Bcd:
      return readBcdPrefix(frame, pos, spec.prefixBytes, spec.prefixMax);
    default:
      return readBinaryPrefix(frame, pos, spec.prefixBytes);
  }
}

function readDecimalPrefix(frame: Buffer, pos: number, digits: number, zero: number): number {
  let value = 0;
  for (let i = 0; i < digits; i++) {
    const d = frame[pos + i]! - zero;
    if (d < 0 || d > 9) return BAD_PREFIX;
    value = value * 10 + d;
  }
  return value;
}

/** An odd digit count is right-aligned: the first nibble is a zero pad, so the value fits max. */
function readBcdPrefix(frame: Buffer, pos: number, bytes: number, max: number): number {
  let value = 0;
  for (let i = 0; i < bytes; i++) {
    const byte = frame[pos + i]!;
    const high = byte >> 4;
    const low = byte & 0x0f;
    if (high > 9 || low > 9) return BAD_PREFIX;
    value = value * 100 + high * 10 + low;
  }
  return value > max ? BAD_PREFIX : value;
}

function readBinaryPrefix(frame: Buffer, pos: number, bytes: number): number {
  let value = 0;
  for (let i = 0; i < bytes; i++) value = value * 256 + frame[pos + i]!;
  return value;
}

/** Writes the length prefix at pos; value has been checked against the field's maximum. */
export function writePrefix(spec: FieldSpec, target: Buffer, pos: number, value: number): void {
  switch (spec.prefixEncoding) {
    case PrefixEncoding.Ascii:
      return writeDecimalPrefix(target, pos, spec.prefixDigits, 0x30, value);
    case PrefixEncoding.Ebcdic:
      return writeDecimalPrefix(target, pos, spec.prefixDigits, 0xf0, value);
    case PrefixEncoding.Bcd:
      return writeBcdPrefix(target, pos, spec.prefixBytes, value);
    default:
      return writeBinaryPrefix(target, pos, spec.prefixBytes, value);
  }
}

// Values are below 2^24 (a 3-byte prefix), so `| 0` is an exact integer division.

function writeDecimalPrefix(target: Buffer, pos: number, digits: number, zero: number,
  value: number): void {
  for (let i = digits - 1; i >= 0; i--) {
    const next = (value / 10) | 0;
    target[pos + i] = zero + value - next * 10;
    value = next;
  }
}

function writeBcdPrefix(target: Buffer, pos: number, bytes: number, value: number): void {
  for (let i = bytes - 1; i >= 0; i--) {
    const tens = (value / 10) | 0;
    const next = (tens / 10) | 0;
    target[pos + i] = ((tens - next * 10) << 4) | (value - tens * 10);
    value = next;
  }
}

function writeBinaryPrefix(target: Buffer, pos: number, bytes: number, value: number): void {
  for (let i = bytes - 1; i >= 0; i--) {
    target[pos + i] = value & 0xff;
    value >>>= 8;
  }
}
