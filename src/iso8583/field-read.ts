/**
 * Lazy conversion of a decoded field (a location in the frame) into its string or byte view.
 * The decoder has already checked the bytes, so nothing here can fail.
 *
 * Text fields are substrings of one whole-frame string made on the first read (latin1 for ASCII,
 * translated for EBCDIC, hex for BCD): one native conversion per message plus a cheap substring
 * per field beats a conversion call per field once a handful of fields are read.
 */
import { DataEncoding, type FieldSpec } from './dialect-types';
import { EBCDIC037_TO_LATIN1, EBCDIC1047_TO_LATIN1, HEX_CHAR } from './charsets';
import { hexText, latin1Text } from './native-slices';

/** Module-level scratch for building strings: a frame is at most 16383 bytes (dialect.ts). */
const SCRATCH_BYTES = 65536;
const scratch = Buffer.allocUnsafe(SCRATCH_BYTES);

/**
 * A decoded value's location is one small integer: start << LOCATION_SHIFT | length. Frames are
 * at most 16383 bytes and a BCD length at most twice that, so both fit in 15 bits and the whole
 * stays a small integer (no heap number per field).
 */
export const LOCATION_SHIFT = 15;
const LOCATION_MASK = (1 << LOCATION_SHIFT) - 1;

/** Where a message caches its whole-frame texts. */
export interface FrameTextCache {
  _latin1Text: string | undefined;
  _ebcdic037Text: string | undefined;
  _ebcdic1047Text: string | undefined;
  _hexText: string | undefined;
}

export function locationStart(location: number): number {
  return location >>> LOCATION_SHIFT;
}

export function locationUnits(location: number): number {
  return location & LOCATION_MASK;
}

/** Bytes a value of `units` length occupies in this field's encoding. */
export function bytesForUnits(spec: FieldSpec, units: number): number {
  return spec.encoding === DataEncoding.Bcd ? (units + 1) >> 1 : units;
}

export function fieldBytesAt(spec: FieldSpec, frame: Buffer, location: number): Buffer {
  const start = locationStart(location);
  return frame.subarray(start, start + bytesForUnits(spec, locationUnits(location)));
}

export function fieldStringAt(cache: FrameTextCache, spec: FieldSpec, frame: Buffer,
  location: number): string {
  const start = locationStart(location);
  const units = locationUnits(location);
  switch (spec.encoding) {
    case DataEncoding.Ascii: {
      let text = cache._latin1Text;
      if (text === undefined) {
        text = latin1Text(frame, 0, frame.length);
        cache._latin1Text = text;
      }
      return text.substring(start, start + units);
    }
    case DataEncoding.Ebcdic037: {
      let text = cache._ebcdic037Text;
      if (text === undefined) {
        text = translated(frame, EBCDIC037_TO_LATIN1);
        cache._ebcdic037Text = text;
      }
      return text.substring(start, start + units);
    }
    case DataEncoding.Ebcdic1047: {
      let text = cache._ebcdic1047Text;
      if (text === undefined) {
        text = translated(frame, EBCDIC1047_TO_LATIN1);
        cache._ebcdic1047Text = text;
      }
      return text.substring(start, start + units);
    }
    case DataEncoding.Bcd: {
      // Track 2 needs its D nibble shown as "="; other BCD digits are exactly their hex text.
      if (spec.content === 'z') return bcdString(frame, start, units, spec.bcdLeftAligned);
      let text = cache._hexText;
      if (text === undefined) {
        text = hexText(frame, 0, frame.length);
        cache._hexText = text;
      }
      const first = 2 * start + ((units & 1) === 1 && !spec.bcdLeftAligned ? 1 : 0);
      return text.substring(first, first + units);
    }
    default:
      return hexString(frame, start, units);
  }
}

function translated(frame: Buffer, table: Uint8Array): string {
  const length = frame.length;
  for (let i = 0; i < length; i++) scratch[i] = table[frame[i]!]!;
  return latin1Text(scratch, 0, length);
}

/** ASCII code for each BCD nibble when read as text: 0-9 digits, D the track 2 separator "=". */
const NIBBLE_CHAR = new Uint8Array([
  0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x41, 0x42, 0x43, 0x3d, 0x45, 0x46,
]);

/** Digits of a packed BCD value; the pad nibble (odd lengths) is first when right-aligned. */
function bcdString(frame: Buffer, start: number, digits: number, leftAligned: boolean): string {
  let nibble = leftAligned || (digits & 1) === 0 ? 0 : 1;
  for (let i = 0; i < digits; i++, nibble++) {
    const byte = frame[start + (nibble >> 1)]!;
    scratch[i] = NIBBLE_CHAR[(nibble & 1) === 0 ? byte >> 4 : byte & 0x0f]!;
  }
  return latin1Text(scratch, 0, digits);
}

/** Upper-case hex of bytes[start, start + length). */
export function hexString(bytes: Buffer, start: number, length: number): string {
  let o = 0;
  for (let i = 0; i < length; i++) {
    const byte = bytes[start + i]!;
    scratch[o++] = HEX_CHAR[byte >> 4]!;
    scratch[o++] = HEX_CHAR[byte & 0x0f]!;
  }
  return latin1Text(scratch, 0, o);
}
