/**
 * Typed errors of the ISO 8583 codec.
 *
 * Decode failures are returned, not thrown: peer input is an operating error (answer DE 39 = 30),
 * and a flood of hostile frames must not pay for stack traces. Encode and dialect failures are
 * programmer or operator errors, so they are thrown as Error subclasses.
 *
 * No error text ever contains a field VALUE: a PAN or track data could leak into logs.
 */

/** Stable codes for decode failures; callers switch on these, never on the reason text. */
export type Iso8583DecodeErrorCode =
  | 'ISO_NOT_A_BUFFER'
  | 'ISO_FRAME_TOO_LONG'
  | 'ISO_TRUNCATED'
  | 'ISO_BAD_MTI'
  | 'ISO_BAD_BITMAP'
  | 'ISO_UNDEFINED_FIELD'
  | 'ISO_BAD_LENGTH_PREFIX'
  | 'ISO_LENGTH_OUT_OF_RANGE'
  | 'ISO_BAD_CONTENT'
  | 'ISO_BAD_COMPOSITE'
  | 'ISO_TRAILING_BYTES'
  | 'ISO_INTERNAL';

export class Iso8583DecodeError {
  readonly code: Iso8583DecodeErrorCode;
  /** "MTI", "bitmap", "frame" or "DE n". */
  readonly field: string;
  /** Byte offset in the frame where the problem was found. */
  readonly offset: number;
  /** What was wrong, without any field value. */
  readonly reason: string;

  constructor(code: Iso8583DecodeErrorCode, field: string, offset: number, reason: string) {
    this.code = code;
    this.field = field;
    this.offset = offset;
    this.reason = reason;
  }

  get message(): string {
    return `${this.code}: ${this.field} at byte ${this.offset}: ${this.reason}`;
  }

  toString(): string {
    return `Iso8583DecodeError ${this.message}`;
  }
}

export type Iso8583EncodeErrorCode =
  | 'ISO_ENCODE_UNDEFINED_FIELD'
  | 'ISO_ENCODE_BAD_VALUE'
  | 'ISO_ENCODE_BAD_LENGTH'
  | 'ISO_ENCODE_BAD_MTI'
  | 'ISO_ENCODE_TARGET_TOO_SMALL'
  | 'ISO_ENCODE_FRAME_TOO_LONG';

export class Iso8583EncodeError extends Error {
  readonly code: Iso8583EncodeErrorCode;
  /** "MTI", "frame" or "DE n". */
  readonly field: string;
  readonly reason: string;

  constructor(code: Iso8583EncodeErrorCode, field: string, reason: string) {
    super(`${code}: ${field}: ${reason}`);
    this.name = 'Iso8583EncodeError';
    this.code = code;
    this.field = field;
    this.reason = reason;
  }
}

/** A dialect file or object failed validation; `key` is the JSON path of the offending key. */
export class DialectError extends Error {
  readonly dialect: string;
  readonly key: string;

  constructor(dialect: string, key: string, reason: string) {
    super(`dialect ${dialect}: ${key}: ${reason}`);
    this.name = 'DialectError';
    this.dialect = dialect;
    this.key = key;
  }
}

/** "DE 4" style label used in every error; precomputed so the error path builds no strings. */
export const FIELD_LABELS: readonly string[] = Array.from({ length: 193 }, (_, de) => `DE ${de}`);
