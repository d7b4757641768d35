/**
 * decode(): frame bytes (after the link's length header, starting at the MTI) to an IsoMessage,
 * or an Iso8583DecodeError naming the field, the byte offset and what was wrong. Never throws.
 *
 * The message keeps a view of the frame and, per field, one small integer saying where the value
 * is; text is produced only when a field is read. Every byte is still checked here (lengths,
 * content class, composite structure) so a later read cannot fail.
 */
import { DataEncoding, type Dialect, type FieldSpec } from './dialect-types';
import { Iso8583DecodeError, FIELD_LABELS } from './errors';
import { IsoMessage } from './message';
import { mtiString, readMti } from './mti';
import { BAD_BITMAP_WORD, readBitmapWord } from './bitmap';
import { BAD_PREFIX, readPrefix } from './prefix';
import { contentProblemAt, compositeProblemAt } from './field-check';
import { fieldStringAt, LOCATION_SCALE } from './field-read';

export function decode(dialect: Dialect, frame: Buffer): IsoMessage | Iso8583DecodeError {
  try {
    return decodeFrame(dialect, frame);
  } catch {
    // Unreachable by design (property tests feed random bytes); kept so that a codec bug can
    // never take the link down with an exception from peer input.
    return new Iso8583DecodeError('ISO_INTERNAL', 'frame', 0, 'unexpected failure in decoder');
  }
}

function decodeFrame(dialect: Dialect, frame: Buffer): IsoMessage | Iso8583DecodeError {
  if (!Buffer.isBuffer(frame)) {
    return new Iso8583DecodeError('ISO_NOT_A_BUFFER', 'frame', 0, 'input is not a Buffer');
  }
  const length = frame.length;
  if (length > dialect.maxFrameBytes) {
    return new Iso8583DecodeError('ISO_FRAME_TOO_LONG', 'frame', dialect.maxFrameBytes,
      `frame of ${length} bytes exceeds the dialect's ${dialect.maxFrameBytes}`);
  }
  if (length < dialect.mtiBytes) {
    return new Iso8583DecodeError('ISO_TRUNCATED', 'MTI', length, 'frame ends inside the MTI');
  }
  const mti = readMti(dialect, frame);
  if (mti < 0) return new Iso8583DecodeError('ISO_BAD_MTI', 'MTI', 0, 'MTI is not four decimal digits');

  const message = new IsoMessage(mtiString(mti));
  const bits = message._bits;
  const pos = readBitmaps(dialect, frame, dialect.mtiBytes, bits);
  if (pos < 0) return bitmapError(dialect, frame, -pos - 1);
  const locations = new Array<number>(presentCount(bits));
  const end = readFields(dialect, frame, pos, bits, locations);
  if (end < 0) return lastFieldError!;
  if (end !== length) {
    return new Iso8583DecodeError('ISO_TRAILING_BYTES', 'frame', end,
      `${length - end} bytes after the last field`);
  }
  message._frame = frame;
  message._dialect = dialect;
  message._frameBits = bits;
  message._locations = locations;
  return message;
}

function presentCount(bits: readonly number[]): number {
  let count = 0;
  for (let w = 0; w < 6; w++) {
    let word = bits[w]!;
    while (word !== 0) {
      word &= word - 1;
      count++;
    }
  }
  return count;
}

/**
 * Reads the primary, secondary and tertiary bitmaps into bits (indicator bits cleared).
 * Returns the offset after the bitmaps, or -(offset + 1) of the bitmap that is bad or missing.
 */
function readBitmaps(dialect: Dialect, frame: Buffer, pos: number, bits: number[]): number {
  const wordBytes = dialect.bitmapBytes >> 1;
  const length = frame.length;
  let maps = 1;
  for (let map = 0; map < maps; map++) {
    if (pos + dialect.bitmapBytes > length) return -pos - 1;
    const high = readBitmapWord(dialect, frame, pos);
    const low = readBitmapWord(dialect, frame, pos + wordBytes);
    if (high === BAD_BITMAP_WORD || low === BAD_BITMAP_WORD) return -pos - 1;
    // The first bit of the primary (bit 1) announces the secondary; with a tertiary bitmap the
    // first bit of the secondary (bit 65) announces the tertiary.
    if (high < 0 && (map === 0 || (map === 1 && dialect.tertiary))) {
      maps++;
      bits[map * 2] = high & 0x7fffffff;
    } else {
      bits[map * 2] = high;
    }
    bits[map * 2 + 1] = low;
    pos += dialect.bitmapBytes;
  }
  return pos;
}

function bitmapError(dialect: Dialect, frame: Buffer, at: number): Iso8583DecodeError {
  if (at + dialect.bitmapBytes > frame.length) {
    return new Iso8583DecodeError('ISO_TRUNCATED', 'bitmap', at, 'frame ends inside a bitmap');
  }
  return new Iso8583DecodeError('ISO_BAD_BITMAP', 'bitmap', at, 'bitmap is not valid hex');
}

/** Set by readFields when it returns -1; a module variable so the success path allocates nothing. */
let lastFieldError: Iso8583DecodeError | undefined;

/** Locates and checks every present field. Returns the offset after the last, or -1. */
function readFields(dialect: Dialect, frame: Buffer, pos: number, bits: readonly number[],
  locations: number[]): number {
  const fields = dialect.fields;
  let slot = 0;
  for (let w = 0; w < 6; w++) {
    let word = bits[w]!;
    while (word !== 0) {
      const lead = Math.clz32(word);
      word &= ~(0x80000000 >>> lead);
      const de = w * 32 + lead + 1;
      const spec = de <= dialect.maxField ? fields[de] : undefined;
      if (spec === undefined) {
        lastFieldError = new Iso8583DecodeError('ISO_UNDEFINED_FIELD', FIELD_LABELS[de]!, pos,
          'bit set for a field this dialect does not define');
        return -1;
      }
      const next = readField(spec, frame, pos, true, locations, slot++);
      if (next < 0) return -1;
      pos = next;
    }
  }
  return pos;
}

/**
 * Locates one field at pos and, if `check`, checks its bytes. Stores the value's location in
 * locations[slot] and returns the offset after the field, or sets lastFieldError and returns -1.
 */
function readField(spec: FieldSpec, frame: Buffer, pos: number, check: boolean,
  locations: number[], slot: number): number {
  const length = frame.length;
  let units: number;
  let bytes: number;
  if (spec.fixedLength !== 0) {
    units = spec.fixedLength;
    bytes = spec.fixedBytes;
  } else {
    if (pos + spec.prefixBytes > length) return fail('ISO_TRUNCATED', spec, pos, 'frame ends inside the length prefix');
    const count = readPrefix(spec, frame, pos);
    if (count === BAD_PREFIX) return fail('ISO_BAD_LENGTH_PREFIX', spec, pos, 'length prefix is not decimal');
    pos += spec.prefixBytes;
    const isBcd = spec.encoding === DataEncoding.Bcd;
    if (isBcd && !spec.countsDigits) {
      bytes = count;
      units = count * 2;
      if (pos + bytes > length) return fail('ISO_TRUNCATED', spec, pos, 'frame ends inside the value');
      if (count > 0 && spec.padNibble === 0xf && bcdPadNibbleIsF(spec, frame, pos, bytes)) units--;
    } else {
      units = count;
      bytes = isBcd ? (count + 1) >> 1 : count;
    }
    if (units > spec.maxLength || units < spec.minLength) {
      return fail('ISO_LENGTH_OUT_OF_RANGE', spec, pos - spec.prefixBytes,
        `length ${units} outside ${spec.minLength} to ${spec.maxLength}`);
    }
  }
  if (pos + bytes > length) return fail('ISO_TRUNCATED', spec, pos, 'frame ends inside the value');
  locations[slot] = pos * LOCATION_SCALE + units;
  if (!check) return pos + bytes;
  const badContent = contentProblemAt(spec, frame, pos, bytes, units);
  if (badContent >= 0) {
    return fail('ISO_BAD_CONTENT', spec, badContent, `byte not allowed in content "${spec.content}"`);
  }
  const badComposite = compositeProblemAt(spec, frame, pos, bytes);
  if (badComposite >= 0) return fail('ISO_BAD_COMPOSITE', spec, badComposite, 'malformed subelements');
  return pos + bytes;
}

function bcdPadNibbleIsF(spec: FieldSpec, frame: Buffer, pos: number, bytes: number): boolean {
  return spec.bcdLeftAligned ? (frame[pos + bytes - 1]! & 0x0f) === 0x0f : frame[pos]! >> 4 === 0x0f;
}

function fail(code: 'ISO_TRUNCATED' | 'ISO_BAD_LENGTH_PREFIX' | 'ISO_LENGTH_OUT_OF_RANGE' |
  'ISO_BAD_CONTENT' | 'ISO_BAD_COMPOSITE', spec: FieldSpec, offset: number, reason: string): number {
  lastFieldError = new Iso8583DecodeError(code, spec.label, offset, reason);
  return -1;
}

/** DE 11, the systems trace audit number. */
const STAN = 11;

/**
 * Best effort on a frame that failed to decode, so the link can still answer with DE 39 = 30 and
 * the right STAN. Returns undefined if even the MTI is unreadable. Never throws.
 */
export function peekMtiAndStan(dialect: Dialect, frame: Buffer):
  { mti: string; stan: string | undefined } | undefined {
  try {
    if (!Buffer.isBuffer(frame) || frame.length < dialect.mtiBytes) return undefined;
    const mtiNumber = readMti(dialect, frame);
    if (mtiNumber < 0) return undefined;
    const mti = mtiString(mtiNumber);
    const bits = [0, 0, 0, 0, 0, 0];
    const location = [0];
    let pos = readBitmaps(dialect, frame, dialect.mtiBytes, bits);
    if (pos < 0) return { mti, stan: undefined };
    for (let de = 2; de <= STAN; de++) {
      if ((bits[0]! & (0x80000000 >>> (de - 1))) === 0) continue;
      const spec = dialect.fields[de];
      if (spec === undefined) return { mti, stan: undefined };
      // Only the STAN's own bytes are checked: an earlier field may be the reason decode failed.
      const next = readField(spec, frame, pos, de === STAN, location, 0);
      if (next < 0) return { mti, stan: undefined };
      if (de === STAN) {
        return { mti, stan: fieldStringAt(new IsoMessage(mti), spec, frame, location[0]!) };
      }
      pos = next;
    }
    return { mti, stan: undefined };
  } catch {
    return undefined;
  }
}
