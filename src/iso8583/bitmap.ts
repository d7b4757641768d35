/**
 * 64-bit bitmaps as two 32-bit words each, most significant bit = lowest field number.
 * Binary (8 bytes), ASCII hex or EBCDIC hex (16 characters).
 */
import type { Dialect } from './dialect-types';
import { EBCDIC037_TO_LATIN1, HEX_VALUE } from './charsets';

/** Returned by readBitmapWord when a hex character is invalid. */
export const BAD_BITMAP_WORD = 0x100000000;

/** Reads 32 bits of a bitmap; `pos` is the byte offset of this word's first byte or character. */
export function readBitmapWord(dialect: Dialect, frame: Buffer, pos: number): number {
  if (dialect.bitmapEncoding === 'binary') {
    return (frame[pos]! << 24) | (frame[pos + 1]! << 16) | (frame[pos + 2]! << 8) | frame[pos + 3]!;
  }
  return readHexBitmapWord(frame, pos, dialect.bitmapEncoding === 'hex-ebcdic');
}

function readHexBitmapWord(frame: Buffer, pos: number, ebcdic: boolean): number {
  let word = 0;
  for (let i = 0; i < 8; i++) {
    const code = ebcdic ? EBCDIC037_TO_LATIN1[frame[pos + i]!]! : frame[pos + i]!;
    const nibble = HEX_VALUE[code]!;
    if (nibble < 0) return BAD_BITMAP_WORD;
    word = (word << 4) | nibble;
  }
  return word | 0;
}

/** Bytes one 32-bit word occupies in this dialect's bitmap encoding. */
export function bitmapWordBytes(dialect: Dialect): number {
  return dialect.bitmapBytes >> 1;
}

/** Upper-case hex digit codes in ASCII and EBCDIC. */
const ASCII_HEX = Buffer.from('0123456789ABCDEF', 'latin1');
const EBCDIC_HEX = Buffer.from([
  0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
]);

export function writeBitmapWord(dialect: Dialect, target: Buffer, pos: number, word: number): void {
  if (dialect.bitmapEncoding === 'binary') {
    target[pos] = (word >>> 24) & 0xff;
    target[pos + 1] = (word >>> 16) & 0xff;
    target[pos + 2] = (word >>> 8) & 0xff;
    target[pos + 3] = word & 0xff;
    return;
  }
  const digits = dialect.bitmapEncoding === 'hex-ascii' ? ASCII_HEX : EBCDIC_HEX;
  for (let i = 7; i >= 0; i--) {
    target[pos + i] = digits[word & 0x0f]!;
    word >>>= 4;
  }
}
