/**
 * EMV BER-TLV (DE 55). Unknown tags are kept as they are, so a list parsed and re-encoded gives
 * the same bytes whenever the lengths were in minimal form (which EMV requires).
 */
import { Iso8583DecodeError } from './errors';
import { hexString } from './field-read';
import { HEX_VALUE } from './charsets';

export interface EmvTlvElement {
  /** Tag bytes as upper-case hex, e.g. "9F02". */
  readonly tag: string;
  /** Value bytes; for parsed elements a view of the input, not a copy. */
  readonly value: Buffer;
}

/** EMV tags are at most three bytes (EMV Book 3 Annex B); four leaves room for private tags. */
const MAX_TAG_BYTES = 4;
/** No DE 55 is longer than 999 bytes, so two length bytes (0x82) are the most it can need. */
const MAX_LENGTH_BYTES = 2;

/**
 * Walks the TLV list in bytes[start, end). Returns -1 if it is well formed, else the offset of
 * the first malformed byte. Used by decode to reject a bad DE 55 without building anything.
 */
export function berTlvProblemAt(bytes: Buffer, start: number, end: number): number {
  let p = start;
  while (p < end) {
    const after = skipTag(bytes, p, end);
    if (after < 0) return p;
    p = after;
    if (p >= end) return p;
    const first = bytes[p]!;
    let length: number;
    if (first < 0x80) {
      length = first;
      p += 1;
    } else {
      const count = first & 0x7f;
      if (count === 0 || count > MAX_LENGTH_BYTES || p + 1 + count > end) return p;
      length = 0;
      for (let i = 1; i <= count; i++) length = length * 256 + bytes[p + i]!;
      p += 1 + count;
    }
    if (p + length > end) return p;
    p += length;
  }
  return -1;
}

/** Offset just after the tag at p, or -1 if the tag runs past end or is too long. */
function skipTag(bytes: Buffer, p: number, end: number): number {
  let q = p + 1;
  if ((bytes[p]! & 0x1f) === 0x1f) {
    // Subsequent tag bytes have bit 8 set while more follow.
    while (q < end && (bytes[q]! & 0x80) !== 0) q++;
    q++;
    if (q > end) return -1;
  }
  return q - p > MAX_TAG_BYTES ? -1 : q;
}

/** Parses a BER-TLV list into elements in wire order; values are views of `bytes`. */
export function parseEmvTlv(bytes: Buffer): EmvTlvElement[] | Iso8583DecodeError {
  if (!Buffer.isBuffer(bytes)) {
    return new Iso8583DecodeError('ISO_NOT_A_BUFFER', 'DE 55', 0, 'input is not a Buffer');
  }
  const problem = berTlvProblemAt(bytes, 0, bytes.length);
  if (problem >= 0) {
    return new Iso8583DecodeError('ISO_BAD_COMPOSITE', 'DE 55', problem, 'malformed BER-TLV');
  }
  const elements: EmvTlvElement[] = [];
  let p = 0;
  while (p < bytes.length) {
    const tagEnd = skipTag(bytes, p, bytes.length);
    const tag = hexString(bytes, p, tagEnd - p);
    p = tagEnd;
    let length = bytes[p]!;
    if (length < 0x80) {
      p += 1;
    } else {
      const count = length & 0x7f;
      length = 0;
      for (let i = 1; i <= count; i++) length = length * 256 + bytes[p + i]!;
      p += 1 + count;
    }
    elements.push({ tag, value: bytes.subarray(p, p + length) });
    p += length;
  }
  return elements;
}

/** Encodes elements in the given order with minimal BER lengths. Throws RangeError on a bad tag. */
export function encodeEmvTlv(elements: readonly EmvTlvElement[]): Buffer {
  let size = 0;
  for (const element of elements) {
    checkTag(element.tag);
    size += element.tag.length / 2 + lengthBytes(element.value.length) + element.value.length;
  }
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  for (const element of elements) {
    for (let i = 0; i < element.tag.length; i += 2) {
      const high = HEX_VALUE[element.tag.charCodeAt(i)]!;
      out[p++] = (high << 4) | HEX_VALUE[element.tag.charCodeAt(i + 1)]!;
    }
    const length = element.value.length;
    if (length < 0x80) {
      out[p++] = length;
    } else if (length < 0x100) {
      out[p++] = 0x81;
      out[p++] = length;
    } else {
      out[p++] = 0x82;
      out[p++] = length >> 8;
      out[p++] = length & 0xff;
    }
    element.value.copy(out, p);
    p += length;
  }
  return out;
}

function lengthBytes(length: number): number {
  if (length > 0xffff) throw new RangeError('EMV TLV value longer than 65535 bytes');
  return length < 0x80 ? 1 : length < 0x100 ? 2 : 3;
}

function checkTag(tag: string): void {
  if (typeof tag !== 'string' || tag.length === 0 || tag.length % 2 !== 0 ||
    tag.length > MAX_TAG_BYTES * 2) {
    throw new RangeError('EMV tag must be 1 to 4 bytes of hex');
  }
  for (let i = 0; i < tag.length; i++) {
    if (tag.charCodeAt(i) > 0xff || HEX_VALUE[tag.charCodeAt(i)]! < 0) {
      throw new RangeError('EMV tag must be hex');
    }
  }
  const bytes = Buffer.from(tag, 'hex');
  if (skipTag(bytes, 0, bytes.length) !== bytes.length) {
    throw new RangeError(`EMV tag ${tag} is not one well-formed BER tag`);
  }
}
