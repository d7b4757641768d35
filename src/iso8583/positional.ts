import type { Dialect } from './dialect-types';

export interface OriginalDataElements {
  readonly originalMti: string;
  readonly originalStan: string;
  readonly originalTransmissionDateTime: string;
  readonly acquiringInstitutionId: string;
  readonly forwardingInstitutionId: string;
}

export function parseOriginalDataElements(de90: string): OriginalDataElements | undefined {
  void de90;
  return undefined;
}

export function encodeOriginalDataElements(original: OriginalDataElements): string {
  void original;
  return '';
}

export function readSubfields(dialect: Dialect, de: number, value: string):
  Record<string, string> | undefined {
  void dialect;
  void de;
  void value;
  return undefined;
}

export function writeSubfields(dialect: Dialect, de: number,
  values: Readonly<Record<string, string>>): string {
  void dialect;
  void de;
  void values;
  return '';
}
