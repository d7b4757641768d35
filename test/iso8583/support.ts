/**
 * Shared helpers for the codec tests: dialect variants for public vectors, and fast-check
 * generators of valid messages built from a dialect's own field specs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  compileDialect, decode, defaultDialectDir, encodeEmvTlv, encodeMastercardDe48, IsoMessage,
  Iso8583DecodeError, type Dialect, type FieldSpec,
} from '../../src/iso8583';
import { CompositeKind, DataEncoding } from '../../src/iso8583/dialect-types';

export const SHIPPED_DIALECTS = ['ascii', 'mastercard-ebcdic', 'visa-bcd'] as const;

export type DialectJson = {
  name: string;
  mti: { encoding: string };
  bitmap: { encoding: string; secondary: string; tertiary?: boolean };
  fields: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
};

export function dialectJson(name: string): DialectJson {
  return JSON.parse(readFileSync(join(defaultDialectDir(), `${name}.json`), 'utf8')) as DialectJson;
}

/** A shipped dialect with some keys changed, for vectors written against another layout. */
export function variant(base: string, name: string, change: (json: DialectJson) => void): Dialect {
  const json = dialectJson(base);
  json.name = name;
  change(json);
  return compileDialect(json, name);
}

/** pyiso8583's default_ascii layout: ASCII everywhere, ASCII-hex bitmaps, secondary when needed. */
export function pyDefaultAscii(): Dialect {
  return variant('ascii', 'py-default-ascii', (json) => {
    json.bitmap = { encoding: 'hex-ascii', secondary: 'when-needed', tertiary: false };
    // pyiso8583 does not check content; its howto puts text in DE 2.
    json.fields['2'] = { ...json.fields['2'], content: 'ans', minLength: 0 };
  });
}

export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[\s|]/g, ''), 'hex');
}

export function decoded(dialect: Dialect, frame: Buffer): IsoMessage {
  const result = decode(dialect, frame);
  if (result instanceof Iso8583DecodeError) assert.fail(`decode failed: ${result.message}`);
  return result;
}

export function decodeError(dialect: Dialect, frame: Buffer): Iso8583DecodeError {
  const result = decode(dialect, frame);
  if (!(result instanceof Iso8583DecodeError)) assert.fail('decode succeeded but should have failed');
  return result;
}

/** Field values of a message as comparable data: hex for binary fields, text otherwise. */
export function fieldsOf(dialect: Dialect, message: IsoMessage): Record<string, string> {
  const out: Record<string, string> = { mti: message.mti };
  for (const de of message.presentFields()) {
    const spec = dialect.fields[de];
    out[de] = spec !== undefined && spec.isBinary
      ? message.getBytes(de)!.toString('hex')
      : message.getString(de)!;
  }
  return out;
}

const PRINTABLE_ASCII = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
const LATIN1_LETTERS = ['\u00e9', '\u00fc', '\u00f1', '\u00c5'];

function charsAllowed(spec: FieldSpec): string[] {
  const chars: string[] = [];
  for (const c of [...PRINTABLE_ASCII, ...LATIN1_LETTERS]) {
    if (spec.allowed[c.charCodeAt(0)] === 1) chars.push(c);
  }
  return chars;
}

/** Longest value the generators make: keeps frames small and runs fast; limits are tested apart. */
const GENERATED_MAX = 40;

function lengthRange(spec: FieldSpec, maxCap = GENERATED_MAX): { min: number; max: number } {
  if (spec.fixedLength !== 0) return { min: spec.fixedLength, max: spec.fixedLength };
  return { min: spec.minLength, max: Math.max(spec.minLength, Math.min(spec.maxLength, maxCap)) };
}

function textArbitrary(spec: FieldSpec, chars: string[]): fc.Arbitrary<string> {
  const { min, max } = lengthRange(spec);
  return fc.string({ unit: fc.constantFrom(...chars), minLength: min, maxLength: max });
}

/** A valid value for one field of a dialect. */
export function valueArbitrary(spec: FieldSpec): fc.Arbitrary<string | Buffer> {
  if (spec.composite === CompositeKind.BerTlv) return emvArbitrary(spec);
  if (spec.composite === CompositeKind.TccTlv) return de48Arbitrary(spec);
  if (spec.isBinary) {
    const { min, max } = lengthRange(spec);
    return fc.uint8Array({ minLength: min, maxLength: max }).map((bytes) => Buffer.from(bytes));
  }
  if (spec.content === 'x+n') {
    const { min, max } = lengthRange(spec);
    return fc.tuple(fc.constantFrom('C', 'D'),
      fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: Math.max(0, min - 1), maxLength: Math.max(0, max - 1) }))
      .map(([sign, digits]) => sign + digits);
  }
  const isBcd = spec.encoding === DataEncoding.Bcd;
  // In BCD the track 2 separator is one nibble, read back as "="; "D" would come back as "=".
  const chars = isBcd ? (spec.content === 'z' ? [...'0123456789='] : [...'0123456789']) : charsAllowed(spec);
  let arbitrary = textArbitrary(spec, chars);
  if (isBcd && !spec.countsDigits && spec.padNibble === 0) {
    // Odd lengths cannot be told from a pad nibble 0 when the prefix counts bytes.
    arbitrary = arbitrary.filter((value) => value.length % 2 === 0);
  }
  return arbitrary;
}

function emvArbitrary(spec: FieldSpec): fc.Arbitrary<Buffer> {
  const tag = fc.constantFrom('9F02', '9F26', '5F34', '95', '9A', '82', '9F10', 'DF8101', '5A', '9F7C');
  const element = fc.record({
    tag,
    value: fc.uint8Array({ minLength: 0, maxLength: 20 }).map((bytes) => Buffer.from(bytes)),
  });
  const cap = Math.min(spec.maxLength, 200);
  return fc.array(element, { maxLength: 6 }).map((list) => encodeEmvTlv(list))
    .filter((bytes) => bytes.length >= spec.minLength && bytes.length <= cap);
}

function de48Arbitrary(spec: FieldSpec): fc.Arbitrary<string> {
  const chars = charsAllowed(spec);
  const sub = fc.record({
    tag: fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, '0')),
    value: fc.string({ unit: fc.constantFrom(...chars), maxLength: 12 }),
  });
  return fc.tuple(fc.constantFrom('R', 'T', 'U', 'A'), fc.array(sub, { maxLength: 4 }))
    .map(([tcc, subelements]) => encodeMastercardDe48({ tcc, subelements }))
    .filter((text) => text.length >= spec.minLength && text.length <= spec.maxLength);
}

const MTI = fc.tuple(fc.constantFrom('0'), fc.constantFrom('1', '2', '4', '8'),
  fc.constantFrom('0', '1', '2', '3'), fc.constantFrom('0', '1')).map((d) => d.join(''));

/** A valid message for the dialect: random MTI, up to `maxFields` random fields. */
export function messageArbitrary(dialect: Dialect, maxFields = 24): fc.Arbitrary<IsoMessage> {
  const numbers = dialect.fields.flatMap((spec, de) => (spec === undefined ? [] : [de]));
  return fc.tuple(MTI, fc.subarray(numbers, { maxLength: maxFields })).chain(([mti, des]) =>
    fc.tuple(...des.map((de) => valueArbitrary(dialect.fields[de]!))).map((values) => {
      const message = new IsoMessage(mti);
      des.forEach((de, i) => message.set(de, values[i]!));
      return message;
    }));
}

/** Expected field data of a message the caller built (hex for binary). */
export function expectedFields(dialect: Dialect, message: IsoMessage): Record<string, string> {
  return fieldsOf(dialect, message);
}
