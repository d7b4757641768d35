/**
 * Positional subfields (DE 90 original data elements, DE 95 replacement amounts): fixed slices
 * of a fixed-length field, as the dialect lists them.
 */
import { CompositeKind, type Dialect } from './dialect-types';

/** ISO 8583:1987 DE 90 (n42): where a reversal finds its original authorisation. */
export interface OriginalDataElements {
  /** Original MTI, n4. */
  readonly originalMti: string;
  /** Original DE 11, n6. */
  readonly originalStan: string;
  /** Original DE 7 (MMDDhhmmss), n10. */
  readonly originalTransmissionDateTime: string;
  /** Original DE 32, n11, right-justified and zero-filled. */
  readonly acquiringInstitutionId: string;
  /** Original DE 33, n11, right-justified and zero-filled. */
  readonly forwardingInstitutionId: string;
}

const DE90_LAYOUT: readonly (readonly [keyof OriginalDataElements, number])[] = [
  ['originalMti', 4],
  ['originalStan', 6],
  ['originalTransmissionDateTime', 10],
  ['acquiringInstitutionId', 11],
  ['forwardingInstitutionId', 11],
];
const DE90_LENGTH = 42;

/** Splits a DE 90 value; undefined unless it is exactly 42 digits. */
export function parseOriginalDataElements(de90: string): OriginalDataElements | undefined {
  if (typeof de90 !== 'string' || de90.length !== DE90_LENGTH || !/^[0-9]+$/.test(de90)) {
    return undefined;
  }
  return {
    originalMti: de90.slice(0, 4),
    originalStan: de90.slice(4, 10),
    originalTransmissionDateTime: de90.slice(10, 20),
    acquiringInstitutionId: de90.slice(20, 31),
    forwardingInstitutionId: de90.slice(31, 42),
  };
}

/**
 * Builds DE 90. Institution ids shorter than 11 digits are zero-filled on the left (an absent
 * forwarding institution is all zeros). Throws RangeError for non-digits or over-long parts.
 */
export function encodeOriginalDataElements(original: OriginalDataElements): string {
  let text = '';
  for (const [key, length] of DE90_LAYOUT) {
    const part = original[key];
    if (typeof part !== 'string' || !/^[0-9]*$/.test(part) || part.length > length) {
      throw new RangeError(`DE 90 ${key} must be up to ${length} digits`);
    }
    const isInstitution = key === 'acquiringInstitutionId' || key === 'forwardingInstitutionId';
    if (!isInstitution && part.length !== length) {
      throw new RangeError(`DE 90 ${key} must be exactly ${length} digits`);
    }
    text += part.padStart(length, '0');
  }
  return text;
}

/**
 * Subfields of a positional field by the names the dialect gives them. Undefined if the dialect
 * does not define `de` as positional or the value has the wrong length.
 */
export function readSubfields(dialect: Dialect, de: number, value: string):
  Record<string, string> | undefined {
  const spec = dialect.fields[de];
  if (spec === undefined || spec.composite !== CompositeKind.Positional) return undefined;
  if (typeof value !== 'string' || value.length !== spec.fixedLength) return undefined;
  const parts: Record<string, string> = {};
  for (const sub of spec.subfields) {
    parts[sub.name] = value.slice(sub.offset, sub.offset + sub.length);
  }
  return parts;
}

/** Joins subfields into the field value. Throws RangeError for a missing or wrong-length part. */
export function writeSubfields(dialect: Dialect, de: number,
  values: Readonly<Record<string, string>>): string {
  const spec = dialect.fields[de];
  if (spec === undefined || spec.composite !== CompositeKind.Positional) {
    throw new RangeError(`DE ${de} is not a positional field in dialect ${dialect.name}`);
  }
  let text = '';
  for (const sub of spec.subfields) {
    const part = values[sub.name];
    if (typeof part !== 'string' || part.length !== sub.length) {
      throw new RangeError(`DE ${de} subfield ${sub.name} must be ${sub.length} characters`);
    }
    text += part;
  }
  return text;
}
