import type { Dialect } from './dialect-types';
import { Iso8583EncodeError } from './errors';
import type { IsoMessage } from './message';

export function encodedLength(dialect: Dialect, message: IsoMessage): number {
  void dialect;
  void message;
  throw new Iso8583EncodeError('ISO_ENCODE_BAD_VALUE', 'frame', 'not implemented yet');
}

export function encode(dialect: Dialect, message: IsoMessage): Buffer {
  void dialect;
  void message;
  throw new Iso8583EncodeError('ISO_ENCODE_BAD_VALUE', 'frame', 'not implemented yet');
}

export function encodeInto(dialect: Dialect, message: IsoMessage, target: Buffer,
  offset: number): number {
  void dialect;
  void message;
  void target;
  void offset;
  throw new Iso8583EncodeError('ISO_ENCODE_BAD_VALUE', 'frame', 'not implemented yet');
}
