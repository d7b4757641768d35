/**
 * The compiled form of a dialect: everything the encoder and decoder need, resolved once at load
 * so the hot path only reads small integers and precomputed tables.
 */

/** Content classes of ISO 8583:1987 (what characters a field may hold). */
export type ContentClass = 'n' | 'a' | 'an' | 'ans' | 'ns' | 'as' | 's' | 'anp' | 'b' | 'z' | 'x+n';

export type DataEncodingName = 'ascii' | 'ebcdic037' | 'ebcdic1047' | 'bcd' | 'binary';
export type PrefixEncodingName = 'ascii' | 'ebcdic' | 'bcd' | 'binary';
export type MtiEncodingName = 'ascii' | 'ebcdic' | 'bcd';
export type BitmapEncodingName = 'binary' | 'hex-ascii' | 'hex-ebcdic';

/** Small integers for the hot-path switch statements (a string compare per field costs more). */
export const enum DataEncoding {
  Ascii = 0,
  Ebcdic037 = 1,
  Ebcdic1047 = 2,
  Bcd = 3,
  Binary = 4,
}

export const enum PrefixEncoding {
  None = 0,
  Ascii = 1,
  Ebcdic = 2,
  Bcd = 3,
  Binary = 4,
}

export const enum CompositeKind {
  None = 0,
  BerTlv = 1,
  TccTlv = 2,
  Positional = 3,
}

export interface PositionalSubfield {
  readonly name: string;
  readonly offset: number;
  readonly length: number;
}

export interface FieldSpec {
  readonly de: number;
  /** "DE n", used in every error so error paths build no strings. */
  readonly label: string;
  readonly name: string;
  readonly content: ContentClass;
  readonly encoding: DataEncoding;
  /** True for content "b": values are bytes, getString gives upper-case hex. */
  readonly isBinary: boolean;
  /** Fixed length in units (characters, digits or bytes); 0 for variable fields. */
  readonly fixedLength: number;
  /** Encoded byte size of a fixed field; 0 for variable fields. */
  readonly fixedBytes: number;
  readonly minLength: number;
  readonly maxLength: number;
  readonly prefixEncoding: PrefixEncoding;
  /** Bytes the length prefix occupies on the wire. */
  readonly prefixBytes: number;
  /** Decimal digits in the prefix (ASCII, EBCDIC, BCD); 0 for binary prefixes. */
  readonly prefixDigits: number;
  /** Largest value the prefix can carry (99 for LL, 255 for a 1-byte binary prefix). */
  readonly prefixMax: number;
  /** For BCD data: whether the prefix counts digits (true) or bytes (false). */
  readonly countsDigits: boolean;
  /** BCD: digits right-aligned (pad nibble first) or left-aligned (pad nibble last). */
  readonly bcdLeftAligned: boolean;
  /** BCD pad nibble, 0x0 or 0xF. */
  readonly padNibble: number;
  /** Fixed text fields: pad char code used on encode when the value is short; -1 = no padding. */
  readonly padChar: number;
  readonly padLeft: boolean;
  /** Allowed decoded character codes for this field's content class (1 = allowed). */
  readonly allowed: Uint8Array;
  /**
   * The longest run of consecutive allowed ASCII codes (digits for "n", 0x20-0x7E for "ans"):
   * its first code and its width less one. The encoder admits a code with
   * (code - allowedRunFirst) >>> 0 <= allowedRunSpan without a table load; others go to `allowed`.
   */
  readonly allowedRunFirst: number;
  readonly allowedRunSpan: number;
  /** Content "x+n": a C or D sign, then digits, checked by position. */
  readonly signedAmount: boolean;
  readonly composite: CompositeKind;
  readonly subfields: readonly PositionalSubfield[];
}

export interface Dialect {
  readonly name: string;
  readonly description: string;
  readonly modelledOn: readonly string[];
  /** Largest frame (after the link's length header) decode accepts and encode produces. */
  readonly maxFrameBytes: number;
  readonly mtiEncoding: MtiEncodingName;
  /** Bytes the MTI occupies: 4 for ASCII/EBCDIC, 2 for BCD. */
  readonly mtiBytes: number;
  readonly bitmapEncoding: BitmapEncodingName;
  /** Bytes one 64-bit bitmap occupies: 8 binary, 16 hex. */
  readonly bitmapBytes: number;
  /** Emit the secondary bitmap even when no field above 64 is present (iso_8583 does this). */
  readonly secondaryAlways: boolean;
  /** Bit 65 announces a tertiary bitmap (fields 129 to 192). */
  readonly tertiary: boolean;
  /** 128 or 192. */
  readonly maxField: number;
  /** Indexed by data element number; undefined where the dialect does not define the field. */
  readonly fields: readonly (FieldSpec | undefined)[];
}
