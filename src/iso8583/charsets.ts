/**
 * Byte tables for the character sets the codec speaks, and the character classes of ISO 8583
 * content types. Everything is built once at module load; the hot path only indexes arrays.
 *
 * The EBCDIC tables were produced from glibc iconv (IBM037 and IBM1047 to UTF-32). Both code pages
 * are bijections onto ISO 8859-1, so a decoded EBCDIC field is a latin1 string and encoding back
 * is an exact inverse (no lossy replacement characters).
 */

const IBM037_TO_LATIN1_HEX =
  '000102039C09867F978D8E0B0C0D0E0F101112139D8508871819928F1C1D1E1F' +
  '80818283840A171B88898A8B8C050607909116939495960498999A9B14159E1A' +
  '20A0E2E4E0E1E3E5E7F1A22E3C282B7C26E9EAEBE8EDEEEFECDF21242A293BAC' +
  '2D2FC2C4C0C1C3C5C7D1A62C255F3E3FF8C9CACBC8CDCECFCC603A2340273D22' +
  'D8616263646566676869ABBBF0FDFEB1B06A6B6C6D6E6F707172AABAE6B8C6A4' +
  'B57E737475767778797AA1BFD0DDDEAE5EA3A5B7A9A7B6BCBDBE5B5DAFA8B4D7' +
  '7B414243444546474849ADF4F6F2F3F57D4A4B4C4D4E4F505152B9FBFCF9FAFF' +
  '5CF7535455565758595AB2D4D6D2D3D530313233343536373839B3DBDCD9DA9F';

const IBM1047_TO_LATIN1_HEX =
  '000102039C09867F978D8E0B0C0D0E0F101112139D8508871819928F1C1D1E1F' +
  '80818283840A171B88898A8B8C050607909116939495960498999A9B14159E1A' +
  '20A0E2E4E0E1E3E5E7F1A22E3C282B7C26E9EAEBE8EDEEEFECDF21242A293B5E' +
  '2D2FC2C4C0C1C3C5C7D1A62C255F3E3FF8C9CACBC8CDCECFCC603A2340273D22' +
  'D8616263646566676869ABBBF0FDFEB1B06A6B6C6D6E6F707172AABAE6B8C6A4' +
  'B57E737475767778797AA1BFD05BDEAEACA3A5B7A9A7B6BCBDBEDDA8AF5DB4D7' +
  '7B414243444546474849ADF4F6F2F3F57D4A4B4C4D4E4F505152B9FBFCF9FAFF' +
  '5CF7535455565758595AB2D4D6D2D3D530313233343536373839B3DBDCD9DA9F';

function tableFromHex(hex: string): Uint8Array {
  const table = new Uint8Array(256);
  for (let i = 0; i < 256; i++) table[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return table;
}

function inverse(table: Uint8Array): Uint8Array {
  const inv = new Uint8Array(256);
  for (let i = 0; i < 256; i++) inv[table[i]!] = i;
  return inv;
}

export const EBCDIC037_TO_LATIN1: Uint8Array = tableFromHex(IBM037_TO_LATIN1_HEX);
export const LATIN1_TO_EBCDIC037: Uint8Array = inverse(EBCDIC037_TO_LATIN1);
export const EBCDIC1047_TO_LATIN1: Uint8Array = tableFromHex(IBM1047_TO_LATIN1_HEX);
export const LATIN1_TO_EBCDIC1047: Uint8Array = inverse(EBCDIC1047_TO_LATIN1);

/** Digits are F0 to F9 in every EBCDIC code page, so prefixes and MTIs need no code page. */
export const EBCDIC_ZERO = 0xf0;
export const ASCII_ZERO = 0x30;

/** Value of a hex digit character code (ASCII), or -1. */
export const HEX_VALUE: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) table[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    table[0x41 + i] = 10 + i;
    table[0x61 + i] = 10 + i;
  }
  return table;
})();

/** Upper-case hex character codes for a nibble. */
export const HEX_CHAR: Uint8Array = new Uint8Array([
  0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46,
]);

function charClass(test: (code: number) => boolean): Uint8Array {
  const table = new Uint8Array(256);
  for (let code = 0; code < 256; code++) table[code] = test(code) ? 1 : 0;
  return table;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/**
 * Printable: ASCII 0x20-0x7E plus the printable latin1 range 0xA0-0xFF, because EBCDIC merchant
 * names (DE 43) can carry national letters. Control characters are never valid field content.
 */
const isPrintable = (c: number): boolean => (c >= 0x20 && c <= 0x7e) || c >= 0xa0;
const isSpecial = (c: number): boolean => isPrintable(c) && !isDigit(c) && !isAlpha(c);

/** Allowed decoded (latin1) character codes per content class. */
export const CONTENT_CLASS_TABLES: Readonly<Record<string, Uint8Array>> = {
  n: charClass(isDigit),
  a: charClass(isAlpha),
  an: charClass((c) => isDigit(c) || isAlpha(c)),
  ans: charClass(isPrintable),
  ns: charClass((c) => isDigit(c) || isSpecial(c)),
  as: charClass((c) => isAlpha(c) || isSpecial(c)),
  s: charClass(isSpecial),
  anp: charClass((c) => isDigit(c) || isAlpha(c) || c === 0x20),
  // Track 2 (ISO 7813) without sentinels: digits and the field separator, written "=" or "D".
  z: charClass((c) => isDigit(c) || c === 0x3d || c === 0x44),
  // x+n is checked by position (C or D, then digits); this table admits the union.
  'x+n': charClass((c) => isDigit(c) || c === 0x43 || c === 0x44),
  b: charClass(() => true),
};
