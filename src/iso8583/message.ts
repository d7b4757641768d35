import type { Dialect } from './dialect-types';
import { fieldBytesAt, fieldStringAt, type FrameTextCache } from './field-read';

/** Highest data element number with a tertiary bitmap (3 x 64 bits). */
export const MAX_DATA_ELEMENT = 192;

/**
 * One ISO 8583 message.
 *
 * A decoded message keeps a view of its frame, the frame's presence bits and one small integer per
 * field saying where its value is, in an array indexed by data element number up to the highest
 * present (a read is one index, with no counting of the fields before it). Values become strings
 * only when read: the first text read converts the whole
 * frame once (one native call), and each field read is then a substring of that text. The caller
 * must therefore not overwrite the frame's bytes while the message is in use, or must call
 * detach().
 *
 * Fields set by the caller live in a sparse array indexed by data element number, created on the
 * first set(); they override what the frame holds.
 */
export class IsoMessage implements FrameTextCache {
  // Fields are `declare`d and assigned once in the constructor: emitted class fields would define
  // each property and then assign it again, which costs on every decode.
  /** Message type indicator, 4 digits, e.g. "0100". */
  declare mti: string;
  /** @internal presence bits: word w holds fields 32w+1 to 32w+32, most significant bit first. */
  declare _bits: number[];
  /** @internal values set by the caller, by data element number. */
  declare _cells: (string | Buffer | undefined)[] | undefined;
  /** @internal decoded frame, its dialect, its presence bits (shared with _bits until a change) */
  declare _frame: Buffer | undefined;
  declare _dialect: Dialect | undefined;
  declare _frameBits: number[] | undefined;
  /** @internal packed value locations (start << 15 | length) by data element number. */
  declare _locations: number[] | undefined;
  /** @internal whole-frame texts that field reads take substrings of (see field-read.ts). */
  declare _latin1Text: string | undefined;
  declare _ebcdic037Text: string | undefined;
  declare _ebcdic1047Text: string | undefined;
  declare _hexText: string | undefined;

  constructor(mti: string = '0000') {
    this.mti = mti;
    this._bits = [0, 0, 0, 0, 0, 0];
    this._cells = undefined;
    this.forgetFrame();
  }

  /** @internal drops the decoded frame and everything read from it (always the same shape). */
  forgetFrame(): void {
    this._frame = undefined;
    this._dialect = undefined;
    this._frameBits = undefined;
    this._locations = undefined;
    this._latin1Text = undefined;
    this._ebcdic037Text = undefined;
    this._ebcdic1047Text = undefined;
    this._hexText = undefined;
  }

  has(de: number): boolean {
    return isDataElementNumber(de) && isPresent(this._bits, de);
  }

  /** Text of the field; binary fields and Buffer values read as upper-case hex. */
  getString(de: number): string | undefined {
    if (!isDataElementNumber(de) || !isPresent(this._bits, de)) return undefined;
    const set = this._cells === undefined ? undefined : this._cells[de];
    if (set !== undefined) return typeof set === 'string' ? set : set.toString('hex').toUpperCase();
    const location = this._locations![de]!;
    return fieldStringAt(this, this._dialect!.fields[de]!, this._frame!, location);
  }

  /**
   * Raw value bytes, without the length prefix. For a decoded field this is a view of the frame
   * (EBCDIC or BCD bytes as they came); for a string set by the caller it is its latin1 bytes.
   */
  getBytes(de: number): Buffer | undefined {
    if (!isDataElementNumber(de) || !isPresent(this._bits, de)) return undefined;
    const set = this._cells === undefined ? undefined : this._cells[de];
    if (set !== undefined) return typeof set === 'string' ? Buffer.from(set, 'latin1') : set;
    return fieldBytesAt(this._dialect!.fields[de]!, this._frame!, this._locations![de]!);
  }

  /**
   * Sets a field. Strings for text and numeric fields; a Buffer (or an even-length hex string) for
   * binary fields. Values are checked against the dialect when encoded, not here.
   */
  set(de: number, value: string | Buffer): this {
    if (!isDataElementNumber(de)) {
      throw new RangeError(`data element must be an integer from 2 to ${MAX_DATA_ELEMENT}`);
    }
    if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
      throw new TypeError(`DE ${de}: value must be a string or a Buffer`);
    }
    let cells = this._cells;
    if (cells === undefined || cells.length <= de) cells = this.growCells(de);
    cells[de] = value;
    markPresent(this.ownBits(), de);
    return this;
  }

  delete(de: number): this {
    if (!isDataElementNumber(de)) return this;
    if (this._cells !== undefined && de < this._cells.length) this._cells[de] = undefined;
    markAbsent(this.ownBits(), de);
    return this;
  }

  /** Data element numbers present, ascending, without the bitmap indicators. */
  presentFields(): number[] {
    const present: number[] = [];
    const bits = this._bits;
    for (let w = 0; w < 6; w++) {
      let word = bits[w]!;
      while (word !== 0) {
        const lead = Math.clz32(word);
        present.push(w * 32 + lead + 1);
        word &= ~(0x80000000 >>> lead);
      }
    }
    return present;
  }

  /**
   * Copies every field still read from the frame into its own string (or Buffer, for binary
   * fields) and drops the frame, for a message that must outlive the buffer it came from.
   */
  detach(): this {
    if (this._frame === undefined) return this;
    const dialect = this._dialect!;
    const copies: [number, string | Buffer][] = [];
    for (const de of this.presentFields()) {
      if (this._cells !== undefined && this._cells[de] !== undefined) continue;
      const spec = dialect.fields[de]!;
      copies.push([de, spec.isBinary ? Buffer.from(this.getBytes(de)!) : this.getString(de)!]);
    }
    this._bits = this._bits.slice();
    for (const [de, value] of copies) this.set(de, value);
    this.forgetFrame();
    return this;
  }

  /**
   * A new message with `mti` holding the fields of `source` named in `keep` (presence bits, as
   * made by presenceMask): for a response that echoes its request. Fields still in the frame stay
   * there, shared and unconverted, so echoing costs no strings, and an encode in the same dialect
   * copies their bytes as they came. The same rule as for `source` applies: its frame must not be
   * overwritten while the new message is in use.
   */
  static echoing(source: IsoMessage, mti: string, keep: readonly number[]): IsoMessage {
    const echo = new IsoMessage(mti);
    const bits = echo._bits;
    const sourceBits = source._bits;
    for (let w = 0; w < 6; w++) bits[w] = (sourceBits[w]! & keep[w]!) | 0;
    if (source._frame !== undefined) {
      echo._frame = source._frame;
      echo._dialect = source._dialect;
      echo._locations = source._locations;
      echo._latin1Text = source._latin1Text;
      echo._ebcdic037Text = source._ebcdic037Text;
      echo._ebcdic1047Text = source._ebcdic1047Text;
      echo._hexText = source._hexText;
    }
    const sourceCells = source._cells;
    if (sourceCells !== undefined) {
      for (let de = 2; de < sourceCells.length; de++) {
        const value = sourceCells[de];
        if (value !== undefined && isPresent(bits, de)) echo.set(de, value);
      }
    }
    return echo;
  }

  /** Room for values up to `de`: sized to what is set (a response sets few, low-numbered fields). */
  private growCells(de: number): (string | Buffer | undefined)[] {
    const previous = this._cells;
    // Up to the end of the bitmap that holds `de` (64, 128 or 192 fields): setting higher fields one
    // after another grows the array at most twice, not once per field.
    const cells = new Array<string | Buffer | undefined>(Math.min(MAX_DATA_ELEMENT, ((de + 63) >>> 6) << 6) + 1);
    if (previous !== undefined) for (let i = 0; i < previous.length; i++) cells[i] = previous[i];
    this._cells = cells;
    return cells;
  }

  /** The presence bits, copied first if they are still shared with the frame's. */
  private ownBits(): number[] {
    if (this._bits === this._frameBits) this._bits = this._bits.slice();
    return this._bits;
  }
}

/** Presence bits of the data elements listed, for IsoMessage.echoing. */
export function presenceMask(dataElements: readonly number[]): number[] {
  const mask = [0, 0, 0, 0, 0, 0];
  for (const de of dataElements) {
    if (!isDataElementNumber(de)) throw new RangeError(`data element must be an integer from 2 to ${MAX_DATA_ELEMENT}`);
    markPresent(mask, de);
  }
  return mask;
}

export function isDataElementNumber(de: number): boolean {
  return (de | 0) === de && de >= 2 && de <= MAX_DATA_ELEMENT;
}

function markPresent(bits: number[], de: number): void {
  const bit = de - 1;
  bits[bit >>> 5] = (bits[bit >>> 5]! | (0x80000000 >>> (bit & 31))) | 0;
}

function markAbsent(bits: number[], de: number): void {
  const bit = de - 1;
  bits[bit >>> 5] = (bits[bit >>> 5]! & ~(0x80000000 >>> (bit & 31))) | 0;
}

export function isPresent(bits: readonly number[], de: number): boolean {
  const bit = de - 1;
  return (bits[bit >>> 5]! & (0x80000000 >>> (bit & 31))) !== 0;
}
