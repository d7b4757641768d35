import type { Dialect } from './dialect-types';
import { Iso8583DecodeError } from './errors';
import type { IsoMessage } from './message';

export function decode(dialect: Dialect, frame: Buffer): IsoMessage | Iso8583DecodeError {
  void dialect;
  void frame;
  return new Iso8583DecodeError('ISO_INTERNAL', 'frame', 0, 'not implemented yet');
}

export function peekMtiAndStan(dialect: Dialect, frame: Buffer):
  { mti: string; stan: string | undefined } | undefined {
  void dialect;
  void frame;
  return undefined;
}
