/**
 * encode(): an IsoMessage to frame bytes (starting at the MTI; the link adds its length header).
 *
 * One pass into a module-level scratch buffer sized once for the largest frame any dialect allows,
 * checking every length and character as it goes; the caller then gets an exact-size copy (one
 * native memcpy). A separate sizing pass cost more than the copy on the typical 0100. A field
 * decoded with the same dialect is copied byte for byte from its frame, so echoing request fields
 * into a response costs a copy and no conversion.
 *
 * Invalid values throw Iso8583EncodeError naming the field: building a message is our own code's
 * job, so a bad value is a programmer or configuration error, not peer input.
 */
import { CompositeKind, DataEncoding, type Dialect, type FieldSpec } from './dialect-types';
import { Iso8583EncodeError } from './errors';
import type { IsoMessage } from './message';
import { mtiValue, writeMti } from './mti';
import { writeBitmapWord } from './bitmap';
import { writePrefix } from './prefix';
import { bytesForUnits, locationStart, locationUnits } from './field-read';
import { MAX_FRAME_BYTES_LIMIT } from './dialect';
import { HEX_VALUE, LATIN1_TO_EBCDIC037, LATIN1_TO_EBCDIC1047 } from './charsets';
import { berTlvProblemAt } from './emv-tlv';
import { tccTlvProblemAt } from './mastercard-de48';

/**
 * Frames from encode() are carved from a shared slab, as Buffer.allocUnsafe carves small buffers
 * from its pool: writing straight into the slab saves an allocation and a copy per frame. A new
 * slab is taken when the rest of the current one could not hold the dialect's largest frame.
 * A returned frame is its own view; `frame.buffer` is the slab and shared with other frames.
 */
const SLAB_BYTES = 4 * (MAX_FRAME_BYTES_LIMIT + 1);
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabMemory = slab.buffer;
let slabUsed = 0;

/** Where encodedLength() and a too-small encodeInto() target write; encode is synchronous. */
const scratch = Buffer.allocUnsafeSlow(MAX_FRAME_BYTES_LIMIT);

/** Exact number of bytes encode() will produce. Throws Iso8583EncodeError like encode(). */
export function encodedLength(dialect: Dialect, message: IsoMessage): number {
  return writeMessage(dialect, message, scratch, 0);
}

export function encode(dialect: Dialect, message: IsoMessage): Buffer {
  if (SLAB_BYTES - slabUsed < dialect.maxFrameBytes) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabMemory = slab.buffer;
    slabUsed = 0;
  }
  const start = slabUsed;
  const end = writeMessage(dialect, message, slab, start);
  // Next frame starts 8-byte aligned, as in Node's own pool.
  slabUsed = (end + 7) & ~7;
  // Buffer.from(arrayBuffer, ...) rather than subarray(): the same view, through a path other
  // code in the process rarely calls (subarray is hot in every Buffer-handling library).
  return Buffer.from(slabMemory, slab.byteOffset + start, end - start);
}

/**
 * Encodes at target[offset]; returns the bytes written. Throws if the target is too small.
 * With room for the dialect's largest frame the encoder writes straight into the target (an
 * invalid value may then leave bytes written after offset); otherwise it writes into scratch
 * first and copies, so a frame that does not fit leaves the target as it was.
 */
export function encodeInto(dialect: Dialect, message: IsoMessage, target: Buffer,
  offset: number): number {
  if (Number.isInteger(offset) && offset >= 0 && offset + dialect.maxFrameBytes <= target.length) {
    return writeMessage(dialect, message, target, offset) - offset;
  }
  const size = writeMessage(dialect, message, scratch, 0);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > target.length) {
    throw new Iso8583EncodeError('ISO_ENCODE_TARGET_TOO_SMALL', 'frame',
      `needs ${size} bytes at offset ${offset}, target has ${target.length}`);
  }
  scratch.copy(target, offset, 0, size);
  return size;
}

/** 1, 2 or 3 bitmaps: secondary if any field 65-128 (or the dialect always sends it). */
function bitmapCount(dialect: Dialect, bits: readonly number[]): number {
  if (dialect.tertiary && (bits[4]! | bits[5]!) !== 0) return 3;
  if (dialect.secondaryAlways || (bits[2]! | bits[3]! | bits[4]! | bits[5]!) !== 0) return 2;
  return 1;
}

/** Writes the whole frame at target[pos]; returns the offset after it. */
function writeMessage(dialect: Dialect, message: IsoMessage, target: Buffer, pos: number): number {
  const limit = pos + dialect.maxFrameBytes;
  const mti = mtiValue(message.mti);
  if (mti < 0) {
    throw new Iso8583EncodeError('ISO_ENCODE_BAD_MTI', 'MTI', 'must be four decimal digits');
  }
  writeMti(dialect, target, pos, mti);
  pos += dialect.mtiBytes;
  const bits = message._bits;
  const maps = bitmapCount(dialect, bits);
  const wordBytes = dialect.bitmapBytes >> 1;
  for (let map = 0; map < maps; map++) {
    let high = bits[map * 2]!;
    if (map + 1 < maps) high |= 0x80000000;
    writeBitmapWord(dialect, target, pos, high);
    writeBitmapWord(dialect, target, pos + wordBytes, bits[map * 2 + 1]!);
    pos += dialect.bitmapBytes;
  }
  for (let w = 0; w < 6; w++) {
    let word = bits[w]!;
    while (word !== 0) {
      const lead = Math.clz32(word);
      word &= ~(0x80000000 >>> lead);
      pos = writeField(dialect, message, w * 32 + lead + 1, target, pos, limit);
    }
  }
  return pos;
}

function specOf(dialect: Dialect, de: number): FieldSpec {
  const spec = de <= dialect.maxField ? dialect.fields[de] : undefined;
  if (spec === undefined) throw undefinedField(dialect, de);
  return spec;
}

function undefinedField(dialect: Dialect, de: number): Iso8583EncodeError {
  return new Iso8583EncodeError('ISO_ENCODE_UNDEFINED_FIELD', `DE ${de}`,
    `dialect ${dialect.name} does not define this field`);
}

/** A value set by the caller, else -1 - the frame location of a field decoded with `dialect`. */
function sourceOf(dialect: Dialect, message: IsoMessage, de: number): string | Buffer | number {
  const set = message._cells === undefined ? undefined : message._cells[de];
  if (set !== undefined) return set;
  if (message._dialect === dialect) {
    return -1 - message._locations![de]!;
  }
  // Decoded with another dialect: convert, then encode as if the caller had set it.
  return valueOf(dialect.fields[de]!, message, de);
}

/** The field's value as a string, or a Buffer for binary fields. */
function valueOf(spec: FieldSpec, message: IsoMessage, de: number): string | Buffer {
  const set = message._cells === undefined ? undefined : message._cells[de];
  if (set !== undefined) return set;
  return spec.isBinary ? message.getBytes(de)! : message.getString(de)!;
}

/** Units of a caller-set value after every length rule of the field is checked. */
function checkedUnits(spec: FieldSpec, value: string | Buffer): number {
  const units = valueUnits(spec, value);
  if (spec.fixedLength !== 0) {
    if (units > spec.fixedLength || (units < spec.fixedLength && spec.padChar < 0)) {
      throw badFixedLength(spec, units);
    }
    return spec.fixedLength;
  }
  if (units < spec.minLength || units > spec.maxLength) throw badVariableLength(spec, units);
  if (spec.encoding === DataEncoding.Bcd && !spec.countsDigits && (units & 1) === 1 &&
    spec.padNibble !== 0xf) {
    throw ambiguousOddLength(spec);
  }
  return units;
}

function badFixedLength(spec: FieldSpec, units: number): Iso8583EncodeError {
  return new Iso8583EncodeError('ISO_ENCODE_BAD_LENGTH', spec.label,
    `length ${units}, the field is fixed at ${spec.fixedLength}`);
}

function badVariableLength(spec: FieldSpec, units: number): Iso8583EncodeError {
  return new Iso8583EncodeError('ISO_ENCODE_BAD_LENGTH', spec.label,
    `length ${units} outside ${spec.minLength} to ${spec.maxLength}`);
}

function ambiguousOddLength(spec: FieldSpec): Iso8583EncodeError {
  return new Iso8583EncodeError('ISO_ENCODE_BAD_LENGTH', spec.label,
    'an odd digit count is ambiguous when the prefix counts bytes and the pad nibble is 0');
}

function frameTooLong(dialect: Dialect, spec: FieldSpec): Iso8583EncodeError {
  return new Iso8583EncodeError('ISO_ENCODE_FRAME_TOO_LONG', 'frame',
    `${spec.label} takes the frame past the dialect's ${dialect.maxFrameBytes} bytes`);
}

/** Length in the field's units: characters, digits, or bytes for binary values. */
function valueUnits(spec: FieldSpec, value: string | Buffer): number {
  if (typeof value !== 'string') {
    if (!spec.isBinary) throw bufferForText(spec);
    return value.length;
  }
  if (spec.isBinary) {
    if ((value.length & 1) === 1) throw oddHex(spec);
    return value.length >> 1;
  }
  return value.length;
}

function bufferForText(spec: FieldSpec): Iso8583EncodeError {
  return new Iso8583EncodeError('ISO_ENCODE_BAD_VALUE', spec.label,
    'a text or numeric field takes a string, not a Buffer');
}

function oddHex(spec: FieldSpec): Iso8583EncodeError {
  return new Iso8583EncodeError('ISO_ENCODE_BAD_VALUE', spec.label,
    'a binary field given as text must be an even number of hex digits');
}

/*
 * The per-field functions below are kept small on purpose: V8 only inlines functions under a
 * bytecode budget, so rare paths (decoded fields, padding, errors) live in their own functions.
 */

/** Writes one field at target[pos], which must not pass limit; returns the offset after it. */
function writeField(dialect: Dialect, message: IsoMessage, de: number, target: Buffer,
  pos: number, limit: number): number {
  const spec = specOf(dialect, de);
  const source = sourceOf(dialect, message, de);
  if (typeof source === 'number') {
    return writeDecodedField(dialect, spec, message, -1 - source, target, pos, limit);
  }
  const units = checkedUnits(spec, source);
  const size = spec.fixedLength !== 0
    ? spec.fixedBytes
    : spec.prefixBytes + bytesForUnits(spec, units);
  if (pos + size > limit) throw frameTooLong(dialect, spec);
  let value = source;
  if (spec.fixedLength === 0) {
    writePrefix(spec, target, pos,
      spec.encoding === DataEncoding.Bcd && !spec.countsDigits ? (units + 1) >> 1 : units);
    pos += spec.prefixBytes;
  } else if (typeof value === 'string' && value.length < units) {
    value = padded(spec, value);
  }
  const end = spec.encoding === DataEncoding.Ascii
    ? writeAscii(spec, value as string, target, pos)
    : writeOtherEncoding(spec, value, target, pos);
  if (spec.composite !== CompositeKind.None) checkComposite(spec, target, pos, end);
  return end;
}

function writeOtherEncoding(spec: FieldSpec, value: string | Buffer, target: Buffer,
  pos: number): number {
  switch (spec.encoding) {
    case DataEncoding.Ebcdic037:
      return writeEbcdic(spec, value as string, target, pos, LATIN1_TO_EBCDIC037);
    case DataEncoding.Ebcdic1047:
      return writeEbcdic(spec, value as string, target, pos, LATIN1_TO_EBCDIC1047);
    case DataEncoding.Bcd:
      return writeBcd(spec, value as string, target, pos);
    default:
      return writeBinary(spec, value, target, pos);
  }
}

function writeDecodedField(dialect: Dialect, spec: FieldSpec, message: IsoMessage, location: number,
  target: Buffer, pos: number, limit: number): number {
  const size = spec.fixedLength !== 0
    ? spec.fixedBytes
    : spec.prefixBytes + bytesForUnits(spec, locationUnits(location));
  if (pos + size > limit) throw frameTooLong(dialect, spec);
  return copyDecodedField(spec, message._frame!, location, target, pos);
}

function padded(spec: FieldSpec, value: string): string {
  const pad = String.fromCharCode(spec.padChar);
  return spec.padLeft ? value.padStart(spec.fixedLength, pad) : value.padEnd(spec.fixedLength, pad);
}

/** Below this many bytes a JS loop beats Buffer.copy's native call overhead. */
const COPY_LOOP_MAX = 32;

function copyDecodedField(spec: FieldSpec, frame: Buffer, cell: number, target: Buffer,
  pos: number): number {
  const units = locationUnits(cell);
  const start = locationStart(cell);
  const bytes = bytesForUnits(spec, units);
  if (spec.fixedLength === 0) {
    const count = spec.encoding === DataEncoding.Bcd && !spec.countsDigits ? bytes : units;
    writePrefix(spec, target, pos, count);
    pos += spec.prefixBytes;
  }
  if (bytes <= COPY_LOOP_MAX) {
    for (let i = 0; i < bytes; i++) target[pos + i] = frame[start + i]!;
  } else {
    frame.copy(target, pos, start, start + bytes);
  }
  return pos + bytes;
}

function badCharacter(spec: FieldSpec, index: number): Iso8583EncodeError {
  return new Iso8583EncodeError('ISO_ENCODE_BAD_VALUE', spec.label,
    `character ${index + 1} is not allowed in content "${spec.content}"`);
}

function writeAscii(spec: FieldSpec, value: string, target: Buffer, pos: number): number {
  const allowed = spec.allowed;
  const runFirst = spec.allowedRunFirst;
  const runSpan = spec.allowedRunSpan;
  const length = value.length;
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    // Inside the content's longest run of allowed ASCII codes no table load is needed; outside
    // it the table decides, and a code above 0xFF reads past its 256 entries as undefined.
    if ((code - runFirst) >>> 0 > runSpan && allowed[code] !== 1) throw badCharacter(spec, i);
    target[pos + i] = code;
  }
  if (spec.signedAmount) checkSignedAmount(spec, value);
  return pos + length;
}

function writeEbcdic(spec: FieldSpec, value: string, target: Buffer, pos: number,
  table: Uint8Array): number {
  const allowed = spec.allowed;
  const length = value.length;
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    // A code above 0xFF reads past the 256-entry table as undefined, so it fails too.
    if (allowed[code] !== 1) throw badCharacter(spec, i);
    target[pos + i] = table[code]!;
  }
  if (spec.signedAmount) checkSignedAmount(spec, value);
  return pos + length;
}

/** x+n: a C (credit) or D (debit) sign, then digits only. */
function checkSignedAmount(spec: FieldSpec, value: string): void {
  if (value.length === 0) return;
  const sign = value.charCodeAt(0);
  if (sign !== 0x43 && sign !== 0x44) throw badCharacter(spec, 0);
  for (let i = 1; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x30 || code > 0x39) throw badCharacter(spec, i);
  }
}

/** Packs digits two per byte; an odd count gets the pad nibble first (right-aligned) or last. */
function writeBcd(spec: FieldSpec, value: string, target: Buffer, pos: number): number {
  const bytes = (value.length + 1) >> 1;
  const lead = (value.length & 1) === 1 && !spec.bcdLeftAligned ? 1 : 0;
  for (let b = 0; b < bytes; b++) {
    const high = bcdNibble(spec, value, 2 * b - lead);
    const low = bcdNibble(spec, value, 2 * b + 1 - lead);
    target[pos + b] = (high << 4) | low;
  }
  return pos + bytes;
}

/** Nibble for digit i of value; outside the digits it is the pad nibble. */
function bcdNibble(spec: FieldSpec, value: string, i: number): number {
  if (i < 0 || i >= value.length) return spec.padNibble;
  const code = value.charCodeAt(i);
  const d = code - 0x30;
  if (d >= 0 && d <= 9) return d;
  // Track 2 in BCD carries its separator as nibble D, written "=" or "D" in text.
  if (spec.content === 'z' && (code === 0x3d || code === 0x44)) return 0x0d;
  throw badCharacter(spec, i);
}

function writeBinary(spec: FieldSpec, value: string | Buffer, target: Buffer, pos: number): number {
  if (typeof value !== 'string') {
    if (value.length <= COPY_LOOP_MAX) {
      for (let i = 0; i < value.length; i++) target[pos + i] = value[i]!;
    } else {
      value.copy(target, pos);
    }
    return pos + value.length;
  }
  const bytes = value.length >> 1;
  for (let i = 0; i < bytes; i++) {
    const c1 = value.charCodeAt(2 * i);
    const c2 = value.charCodeAt(2 * i + 1);
    const high = c1 > 0xff ? -1 : HEX_VALUE[c1]!;
    const low = c2 > 0xff ? -1 : HEX_VALUE[c2]!;
    if (high < 0 || low < 0) {
      throw new Iso8583EncodeError('ISO_ENCODE_BAD_VALUE', spec.label,
        `hex digit ${high < 0 ? 2 * i + 1 : 2 * i + 2} is not hex`);
    }
    target[pos + i] = (high << 4) | low;
  }
  return pos + bytes;
}

function checkComposite(spec: FieldSpec, target: Buffer, start: number, end: number): void {
  if (spec.composite === CompositeKind.BerTlv) {
    if (berTlvProblemAt(target, start, end) >= 0) {
      throw new Iso8583EncodeError('ISO_ENCODE_BAD_VALUE', spec.label,
        'value is not well-formed BER-TLV');
    }
  } else if (spec.composite === CompositeKind.TccTlv) {
    const zero = spec.encoding === DataEncoding.Ascii ? 0x30 : 0xf0;
    if (tccTlvProblemAt(target, start, end, zero) >= 0) {
      throw new Iso8583EncodeError('ISO_ENCODE_BAD_VALUE', spec.label,
        'value is not a category code followed by id-length-value subelements');
    }
  }
}
