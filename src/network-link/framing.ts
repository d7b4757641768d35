/**
 * Length headers that delimit ISO 8583 messages on a TCP stream.
 *
 * Every framing here puts a fixed-size length field in front of each message. The length counts the
 * bytes after the length field (optional fixed header bytes plus the message itself), never the
 * length field. A framing only reads and writes that field; reassembly from the stream lives in
 * frame-assembler.ts, so the two can be tested apart.
 */

/** Names used in link config (`framing`). */
export const FRAMING_KINDS = ['binary2', 'bcd2', 'ascii4', 'vml4'] as const;
export type FramingKind = (typeof FRAMING_KINDS)[number];

/** Returned by `readLength` when the length field itself is malformed (bad BCD nibble, non-digit). */
export const INVALID_LENGTH = -1;

export interface Framing {
  readonly kind: FramingKind;
  /** Size of the length field in bytes. */
  readonly lengthFieldBytes: number;
  /** Largest body length the field can express; a link's max frame size may not exceed it. */
  readonly maxBodyBytes: number;
  /**
   * True when a zero-length frame is a keep-alive the peer expects echoed back (Visa VML header).
   * Other framings count a zero-length frame and drop it.
   */
  readonly answersKeepAlive: boolean;
  /** Body length at `offset`, or INVALID_LENGTH. Reads exactly `lengthFieldBytes` bytes. */
  readLength(source: Buffer, offset: number): number;
  /** Writes the length field for a body of `length` bytes at `offset`. */
  writeLength(target: Buffer, offset: number, length: number): void;
}

/** 2-byte big-endian binary length (NACChannel, PostChannel, moov Binary2Bytes). The default. */
const binary2: Framing = {
  kind: 'binary2',
  lengthFieldBytes: 2,
  maxBodyBytes: 0xffff,
  answersKeepAlive: false,
  readLength(source, offset) {
    return (source[offset]! << 8) | source[offset + 1]!;
  },
  writeLength(target, offset, length) {
    target[offset] = length >>> 8;
    target[offset + 1] = length & 0xff;
  },
};

/** Value of one packed BCD byte, or INVALID_LENGTH when either nibble is above 9. */
function bcdByte(value: number): number {
  const high = value >>> 4;
  const low = value & 0x0f;
  if (high > 9 || low > 9) return INVALID_LENGTH;
  return high * 10 + low;
}

/** 2-byte packed BCD length, four digits, so at most 9999 (NCCChannel, moov BCD2BytesHeader). */
const bcd2: Framing = {
  kind: 'bcd2',
  lengthFieldBytes: 2,
  maxBodyBytes: 9999,
  answersKeepAlive: false,
  readLength(source, offset) {
    const hundreds = bcdByte(source[offset]!);
    const units = bcdByte(source[offset + 1]!);
    if (hundreds === INVALID_LENGTH || units === INVALID_LENGTH) return INVALID_LENGTH;
    return hundreds * 100 + units;
  },
  writeLength(target, offset, length) {
    const hundreds = Math.floor(length / 100);
    const units = length % 100;
    target[offset] = (Math.floor(hundreds / 10) << 4) | hundreds % 10;
    target[offset + 1] = (Math.floor(units / 10) << 4) | units % 10;
  },
};

const ASCII_ZERO = 0x30;

/**
 * Four ASCII decimal digits (ASCIIChannel, moov ASCII4BytesHeader). Parsed with a digit loop rather
 * than toString()+parseInt so a malformed header is caught exactly and nothing is allocated.
 */
const ascii4: Framing = {
  kind: 'ascii4',
  lengthFieldBytes: 4,
  maxBodyBytes: 9999,
  answersKeepAlive: false,
  readLength(source, offset) {
    let length = 0;
    for (let index = 0; index < 4; index++) {
      const digit = source[offset + index]! - ASCII_ZERO;
      if (digit < 0 || digit > 9) return INVALID_LENGTH;
      length = length * 10 + digit;
    }
    return length;
  },
  writeLength(target, offset, length) {
    let rest = length;
    for (let index = 3; index >= 0; index--) {
      target[offset + index] = ASCII_ZERO + (rest % 10);
      rest = Math.floor(rest / 10);
    }
  },
};

/**
 * Visa-style VML header: `LL LL 00 00`, a 2-byte big-endian length and two reserved zero bytes.
 * Reserved bytes that are not zero mean the stream is out of step (or is not this framing), so the
 * header is reported invalid and the connection is closed rather than guessed at.
 * A zero-length frame is a keep-alive poll that the link answers with a zero-length frame.
 */
const vml4: Framing = {
  kind: 'vml4',
  lengthFieldBytes: 4,
  maxBodyBytes: 0xffff,
  answersKeepAlive: true,
  readLength(source, offset) {
    if (source[offset + 2] !== 0 || source[offset + 3] !== 0) return INVALID_LENGTH;
    return (source[offset]! << 8) | source[offset + 1]!;
  },
  writeLength(target, offset, length) {
    target[offset] = length >>> 8;
    target[offset + 1] = length & 0xff;
    target[offset + 2] = 0;
    target[offset + 3] = 0;
  },
};

const FRAMINGS: Record<FramingKind, Framing> = { binary2, bcd2, ascii4, vml4 };

export function framingFor(kind: FramingKind): Framing {
  return FRAMINGS[kind];
}

export function isFramingKind(value: unknown): value is FramingKind {
  return typeof value === 'string' && (FRAMING_KINDS as readonly string[]).includes(value);
}
