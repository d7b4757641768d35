/**
 * Lazy conversion of a decoded field (a location in the frame) into its string or byte view.
 * The decoder has already checked the bytes, so nothing here can fail.
 */
import { DataEncoding, type Dialect, type FieldSpec } from './dialect-types';
import { EBCDIC037_TO_LATIN1, EBCDIC1047_TO_LATIN1, HEX_CHAR } from './charsets';

/** Module-level scratch for building strings: one field is at most a frame long. */
const SCRATCH_BYTES = 65536;
const scratch = Buffer.allocUnsafe(SCRATCH_BYTES);

/** ASCII code for each BCD nibble when read as text: 0-9 digits, D the track 2 separator "=". */
const NIBBLE_CHAR = new Uint8Array([
  0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x41, 0x42, 0x43, 0x3d, 0x45, 0x46,
]);

export const LOCATION_SCALE = 32768;

export function locationStart(cell: number): number {
  return Math.floor(cell / LOCATION_SCALE);
}

export function locationUnits(cell: number): number {
  return cell % LOCATION_SCALE;
}

/** Bytes a value of `units` length occupies in this field's encoding. */
export function bytesForUnits(spec: FieldSpec, units: number): number {
  return spec.encoding === DataEncoding.Bcd ? (units + 1) >> 1 : units;
}

export function fieldBytesOf(dialect: Dialect, de: number, frame: Buffer, cell: number): Buffer {
  const spec = dialect.fields[de]!;
  const start = locationStart(cell);
  return frame.subarray(start, start + bytesForUnits(spec, locationUnits(cell)));
}

export function fieldStringAt(dialect: Dialect, de: number, frame: Buffer, cell: number): string {
  const spec = dialect.fields[de]!;
  const start = locationStart(cell);
  const units = locationUnits(cell);
  switch (spec.encoding) {
    case DataEncoding.Ascii:
      return frame.toString('latin1', start, start + units);
    case DataEncoding.Ebcdic037:
      return ebcdicString(frame, start, units, EBCDIC037_TO_LATIN1);
    case DataEncoding.Ebcdic1047:
      return ebcdicString(frame, start, units, EBCDIC1047_TO_LATIN1);
    case DataEncoding.Bcd:
      return bcdString(frame, start, units, spec.bcdLeftAligned);
    default:
      return hexString(frame, start, units);
  }
}

function ebcdicString(frame: Buffer, start: number, units: number, table: Uint8Array): string {
  for (let i = 0; i < units; i++) scratch[i] = table[frame[start + i]!]!;
  return scratch.toString('latin1', 0, units);
}

/** Digits of a packed BCD value; the pad nibble (odd lengths) is first when right-aligned. */
function bcdString(frame: Buffer, start: number, digits: number, leftAligned: boolean): string {
  let nibble = leftAligned || (digits & 1) === 0 ? 0 : 1;
  for (let i = 0; i < digits; i++, nibble++) {
    const byte = frame[start + (nibble >> 1)]!;
    scratch[i] = NIBBLE_CHAR[(nibble & 1) === 0 ? byte >> 4 : byte & 0x0f]!;
  }
  return scratch.toString('latin1', 0, digits);
}

export function hexString(bytes: Buffer, start: number, length: number): string {
  let o = 0;
  for (let i = 0; i < length; i++) {
    const byte = bytes[start + i]!;
    scratch[o++] = HEX_CHAR[byte >> 4]!;
    scratch[o++] = HEX_CHAR[byte & 0x0f]!;
  }
  return scratch.toString('latin1', 0, o);
}
