import { Iso8583DecodeError } from './errors';

export interface De48Subelement {
  /** Two-digit subelement id, e.g. "42". */
  readonly tag: string;
  readonly value: string;
}

export interface MastercardDe48 {
  /** Transaction category code: the first character of DE 48. */
  readonly tcc: string;
  readonly subelements: readonly De48Subelement[];
}

export function parseMastercardDe48(de48: string): MastercardDe48 | Iso8583DecodeError {
  void de48;
  return new Iso8583DecodeError('ISO_INTERNAL', 'DE 48', 0, 'not implemented yet');
}

export function encodeMastercardDe48(de48: MastercardDe48): string {
  void de48;
  return '';
}
