import type { Dialect } from './dialect-types';
import { fieldBytesOf, fieldStringAt } from './field-read';

/** Highest data element number with a tertiary bitmap (3 x 64 bits). */
export const MAX_DATA_ELEMENT = 192;

/**
 * One ISO 8583 message.
 *
 * A decoded message holds a view of its frame and one small integer per present field (where the
 * value sits in the frame); values become strings only when read, and are cached. The caller must
 * therefore not overwrite the frame's bytes while the message is in use, or must call detach().
 *
 * Cells: undefined = absent; number = packed location in the frame; string or Buffer = set value.
 */
export class IsoMessage {
  /** Message type indicator, 4 digits, e.g. "0100". */
  mti: string;
  /** @internal */
  _cells: (number | string | Buffer | undefined)[];
  /** @internal strings converted from frame locations, created on first read. */
  _strings: (string | undefined)[] | undefined;
  /** @internal presence bits: word w holds fields 32w+1 to 32w+32, most significant bit first. */
  _bits: number[];
  /** @internal */
  _frame: Buffer | undefined;
  /** @internal dialect the frame was decoded with. */
  _dialect: Dialect | undefined;

  constructor(mti: string = '0000') {
    this.mti = mti;
    this._cells = new Array<number | string | Buffer | undefined>(MAX_DATA_ELEMENT + 1);
    this._strings = undefined;
    this._bits = [0, 0, 0, 0, 0, 0];
    this._frame = undefined;
    this._dialect = undefined;
  }

  has(de: number): boolean {
    return isDataElementNumber(de) && this._cells[de] !== undefined;
  }

  /** Text of the field; binary fields and Buffer values read as upper-case hex. */
  getString(de: number): string | undefined {
    if (!isDataElementNumber(de)) return undefined;
    const cell = this._cells[de];
    if (cell === undefined) return undefined;
    if (typeof cell === 'string') return cell;
    if (typeof cell !== 'number') return cell.toString('hex').toUpperCase();
    let strings = this._strings;
    if (strings === undefined) {
      strings = new Array<string | undefined>(MAX_DATA_ELEMENT + 1);
      this._strings = strings;
    }
    const cached = strings[de];
    if (cached !== undefined) return cached;
    const text = fieldStringAt(this._dialect!, de, this._frame!, cell);
    strings[de] = text;
    return text;
  }

  /**
   * Raw value bytes, without the length prefix. For a decoded field this is a view of the frame
   * (EBCDIC or BCD bytes as they came); for a string set by the caller it is its latin1 bytes.
   */
  getBytes(de: number): Buffer | undefined {
    if (!isDataElementNumber(de)) return undefined;
    const cell = this._cells[de];
    if (cell === undefined) return undefined;
    if (typeof cell === 'number') return fieldBytesOf(this._dialect!, de, this._frame!, cell);
    if (typeof cell === 'string') return Buffer.from(cell, 'latin1');
    return cell;
  }

  /**
   * Sets a field. Strings for text and numeric fields; a Buffer (or an even-length hex string) for
   * binary fields. Values are checked against the dialect when encoded, not here.
   */
  set(de: number, value: string | Buffer): this {
    assertSettable(de);
    if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
      throw new TypeError(`DE ${de}: value must be a string or a Buffer`);
    }
    this._cells[de] = value;
    if (this._strings !== undefined) this._strings[de] = undefined;
    const bit = de - 1;
    this._bits[bit >>> 5] = (this._bits[bit >>> 5]! | (0x80000000 >>> (bit & 31))) | 0;
    return this;
  }

  delete(de: number): this {
    if (!isDataElementNumber(de)) return this;
    this._cells[de] = undefined;
    if (this._strings !== undefined) this._strings[de] = undefined;
    const bit = de - 1;
    this._bits[bit >>> 5] = (this._bits[bit >>> 5]! & ~(0x80000000 >>> (bit & 31))) | 0;
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
   * Converts every decoded field into its own string or Buffer copy and drops the frame, for a
   * message that must outlive the buffer it was decoded from.
   */
  detach(): this {
    if (this._frame === undefined) return this;
    for (const de of this.presentFields()) {
      const cell = this._cells[de];
      if (typeof cell !== 'number') continue;
      const spec = this._dialect!.fields[de]!;
      this._cells[de] = spec.isBinary
        ? Buffer.from(fieldBytesOf(this._dialect!, de, this._frame, cell))
        : this.getString(de)!;
    }
    this._frame = undefined;
    this._dialect = undefined;
    this._strings = undefined;
    return this;
  }
}

export function isDataElementNumber(de: number): boolean {
  return Number.isInteger(de) && de >= 2 && de <= MAX_DATA_ELEMENT;
}

function assertSettable(de: number): void {
  if (!isDataElementNumber(de)) {
    throw new RangeError(`data element must be an integer from 2 to ${MAX_DATA_ELEMENT}`);
  }
}
