import { Iso8583DecodeError } from './errors';

export interface EmvTlvElement {
  /** Tag bytes as upper-case hex, e.g. "9F02". */
  readonly tag: string;
  /** Value bytes (a view of the input for parsed elements). */
  readonly value: Buffer;
}

export function parseEmvTlv(bytes: Buffer): EmvTlvElement[] | Iso8583DecodeError {
  void bytes;
  return new Iso8583DecodeError('ISO_INTERNAL', 'DE 55', 0, 'not implemented yet');
}

export function encodeEmvTlv(elements: readonly EmvTlvElement[]): Buffer {
  void elements;
  return Buffer.alloc(0);
}
