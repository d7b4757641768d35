/**
 * Dialects are data: JSON files in config/dialects/, validated and compiled once at load.
 * Every rejection names the offending key (its JSON path), so an operator can fix the file.
 * Format reference: docs/codec.md; editor schema: config/dialects/dialect.schema.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CONTENT_CLASS_TABLES } from './charsets';
import {
  CompositeKind,
  DataEncoding,
  PrefixEncoding,
  type BitmapEncodingName,
  type ContentClass,
  type Dialect,
  type FieldSpec,
  type MtiEncodingName,
  type PositionalSubfield,
} from './dialect-types';
import { DialectError, FIELD_LABELS } from './errors';

/**
 * Upper bound for maxFrameBytes. Decoded field locations are packed into one small integer
 * (start << 15 | length, where a BCD length counts up to two digits per byte), which keeps a
 * decoded message free of per-field objects. Scheme frames are far smaller: Visa's VML caps them
 * at 2048.
 */
export const MAX_FRAME_BYTES_LIMIT = 16383;
/** Smallest useful frame: an MTI, one hex bitmap and a little data. */
const MIN_FRAME_BYTES = 32;
/** ISO 8583 length prefixes go up to six digits (LLLLLL). */
const MAX_PREFIX_DIGITS = 6;
/** A 3-byte binary prefix already exceeds any frame we accept. */
const MAX_PREFIX_BINARY_BYTES = 3;
const MAX_VALUE_LENGTH = 999999;
/** Dialect names become file names: no separators, no dots, so no path traversal. */
const DIALECT_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

const CONTENT_CLASSES: readonly ContentClass[] = [
  'n', 'a', 'an', 'ans', 'ns', 'as', 's', 'anp', 'b', 'z', 'x+n',
];
const DATA_ENCODINGS: Readonly<Record<string, DataEncoding>> = {
  ascii: DataEncoding.Ascii,
  ebcdic037: DataEncoding.Ebcdic037,
  ebcdic1047: DataEncoding.Ebcdic1047,
  bcd: DataEncoding.Bcd,
  binary: DataEncoding.Binary,
};
const PREFIX_ENCODINGS: Readonly<Record<string, PrefixEncoding>> = {
  ascii: PrefixEncoding.Ascii,
  ebcdic: PrefixEncoding.Ebcdic,
  bcd: PrefixEncoding.Bcd,
  binary: PrefixEncoding.Binary,
};
const MTI_ENCODINGS: readonly MtiEncodingName[] = ['ascii', 'ebcdic', 'bcd'];
const BITMAP_ENCODINGS: readonly BitmapEncodingName[] = ['binary', 'hex-ascii', 'hex-ebcdic'];
const TOP_LEVEL_KEYS = [
  '$schema', 'name', 'description', 'modelledOn', 'maxFrameBytes', 'mti', 'bitmap', 'fields',
];
const FIELD_KEYS = [
  'name', 'content', 'encoding', 'length', 'maxLength', 'minLength', 'prefix', 'align',
  'padNibble', 'pad', 'composite',
];

let cachedDialectDir: string | undefined;

/**
 * <repo>/config/dialects, found by walking up from this file so the same code works from src/
 * (ts-node) and from dist/src/ (compiled).
 */
export function defaultDialectDir(): string {
  if (cachedDialectDir !== undefined) return cachedDialectDir;
  let dir = __dirname;
  for (let up = 0; up < 6; up++) {
    const candidate = join(dir, 'config', 'dialects');
    if (existsSync(candidate)) {
      cachedDialectDir = candidate;
      return candidate;
    }
    dir = dirname(dir);
  }
  cachedDialectDir = resolve(__dirname, '..', '..', '..', 'config', 'dialects');
  return cachedDialectDir;
}

/** Reads config/dialects/<name>.json, validates and compiles it. Throws DialectError. */
export function loadDialect(name: string, dialectDir?: string): Dialect {
  if (typeof name !== 'string' || !DIALECT_NAME.test(name)) {
    throw new DialectError(String(name), 'name', 'must be lower-case letters, digits and dashes');
  }
  const file = join(dialectDir ?? defaultDialectDir(), `${name}.json`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err: unknown) {
    const why = err instanceof Error ? err.message : String(err);
    throw new DialectError(name, '(file)', `cannot read ${file}: ${why}`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (err: unknown) {
    const why = err instanceof Error ? err.message : String(err);
    throw new DialectError(name, '(file)', `not valid JSON: ${why}`);
  }
  const dialect = compileDialect(spec, name);
  if (dialect.name !== name) {
    throw new DialectError(name, 'name', `is "${dialect.name}" but the file is ${name}.json`);
  }
  return dialect;
}

/** Validates and compiles a dialect given as a parsed JSON object. Throws DialectError. */
export function compileDialect(spec: unknown, sourceName: string): Dialect {
  const v = new Validator(sourceName);
  const root = v.object(spec, '(root)');
  v.onlyKeys(root, TOP_LEVEL_KEYS, '');
  const name = v.string(root.name, 'name');
  if (!DIALECT_NAME.test(name)) v.fail('name', 'must be lower-case letters, digits and dashes');
  const description = root.description === undefined
    ? ''
    : v.string(root.description, 'description');
  const modelledOn = v.stringList(root.modelledOn, 'modelledOn');
  const maxFrameBytes = v.integer(root.maxFrameBytes, 'maxFrameBytes', MIN_FRAME_BYTES,
    MAX_FRAME_BYTES_LIMIT);

  const mti = v.object(root.mti, 'mti');
  v.onlyKeys(mti, ['encoding'], 'mti.');
  const mtiEncoding = v.oneOf(mti.encoding, 'mti.encoding', MTI_ENCODINGS);

  const bitmap = v.object(root.bitmap, 'bitmap');
  v.onlyKeys(bitmap, ['encoding', 'secondary', 'tertiary'], 'bitmap.');
  const bitmapEncoding = v.oneOf(bitmap.encoding, 'bitmap.encoding', BITMAP_ENCODINGS);
  const secondary = v.oneOf(bitmap.secondary, 'bitmap.secondary', ['always', 'when-needed']);
  const tertiary = bitmap.tertiary === undefined
    ? false
    : v.boolean(bitmap.tertiary, 'bitmap.tertiary');
  const maxField = tertiary ? 192 : 128;

  const fieldsObject = v.object(root.fields, 'fields');
  const fields: (FieldSpec | undefined)[] = new Array<FieldSpec | undefined>(193).fill(undefined);
  for (const key of Object.keys(fieldsObject)) {
    const path = `fields.${key}`;
    if (!/^[1-9][0-9]{0,2}$/.test(key)) v.fail(path, 'field keys are data element numbers');
    const de = Number(key);
    if (de < 2 || de > maxField) {
      const why = tertiary ? '' : ' (no tertiary bitmap)';
      v.fail(path, `data element must be 2 to ${maxField}${why}`);
    }
    if (de === 65 && tertiary) v.fail(path, 'bit 65 announces the tertiary bitmap in this dialect');
    fields[de] = compileField(v, fieldsObject[key], de, path);
  }
  if (!fields.some((f) => f !== undefined)) v.fail('fields', 'must define at least one field');

  return Object.freeze({
    name,
    description,
    modelledOn: Object.freeze(modelledOn),
    maxFrameBytes,
    mtiEncoding,
    mtiBytes: mtiEncoding === 'bcd' ? 2 : 4,
    bitmapEncoding,
    bitmapBytes: bitmapEncoding === 'binary' ? 8 : 16,
    secondaryAlways: secondary === 'always',
    tertiary,
    maxField,
    fields: Object.freeze(fields),
  });
}

function compileField(v: Validator, raw: unknown, de: number, path: string): FieldSpec {
  const f = v.object(raw, path);
  v.onlyKeys(f, FIELD_KEYS, `${path}.`);
  const name = v.string(f.name, `${path}.name`);
  const content = v.oneOf(f.content, `${path}.content`, CONTENT_CLASSES);
  const encodingName = v.oneOf(f.encoding, `${path}.encoding`, Object.keys(DATA_ENCODINGS));
  const encoding = DATA_ENCODINGS[encodingName]!;
  checkContentEncoding(v, content, encoding, path);

  const isFixed = f.length !== undefined;
  if (isFixed === (f.maxLength !== undefined)) {
    v.fail(path, 'give exactly one of "length" (fixed) or "maxLength" with "prefix" (variable)');
  }
  const isBcd = encoding === DataEncoding.Bcd;
  let fixedLength = 0;
  let fixedBytes = 0;
  let minLength = 0;
  let maxLength: number;
  let prefixEncoding = PrefixEncoding.None;
  let prefixBytes = 0;
  let prefixDigits = 0;
  let prefixMax = 0;
  let countsDigits = isBcd;
  if (isFixed) {
    fixedLength = v.integer(f.length, `${path}.length`, 1, MAX_FRAME_BYTES_LIMIT);
    fixedBytes = isBcd ? (fixedLength + 1) >> 1 : fixedLength;
    minLength = fixedLength;
    maxLength = fixedLength;
    if (f.prefix !== undefined) v.fail(`${path}.prefix`, 'a fixed-length field has no prefix');
    if (f.minLength !== undefined) v.fail(`${path}.minLength`, 'only for variable-length fields');
  } else {
    maxLength = v.integer(f.maxLength, `${path}.maxLength`, 1, MAX_VALUE_LENGTH);
    minLength = f.minLength === undefined
      ? 0
      : v.integer(f.minLength, `${path}.minLength`, 0, maxLength);
    const prefix = v.object(f.prefix, `${path}.prefix`);
    v.onlyKeys(prefix, ['encoding', 'digits', 'bytes', 'counts'], `${path}.prefix.`);
    const pName = v.oneOf(prefix.encoding, `${path}.prefix.encoding`,
      Object.keys(PREFIX_ENCODINGS));
    prefixEncoding = PREFIX_ENCODINGS[pName]!;
    if (prefixEncoding === PrefixEncoding.Binary) {
      if (prefix.digits !== undefined) {
        v.fail(`${path}.prefix.digits`, 'binary prefixes give "bytes"');
      }
      prefixBytes = v.integer(prefix.bytes, `${path}.prefix.bytes`, 1, MAX_PREFIX_BINARY_BYTES);
      prefixMax = 2 ** (8 * prefixBytes) - 1;
    } else {
      if (prefix.bytes !== undefined) {
        v.fail(`${path}.prefix.bytes`, 'decimal prefixes give "digits"');
      }
      prefixDigits = v.integer(prefix.digits, `${path}.prefix.digits`, 1, MAX_PREFIX_DIGITS);
      prefixBytes = prefixEncoding === PrefixEncoding.Bcd ? (prefixDigits + 1) >> 1 : prefixDigits;
      prefixMax = 10 ** prefixDigits - 1;
    }
    if (prefix.counts !== undefined) {
      const counts = v.oneOf(prefix.counts, `${path}.prefix.counts`, ['digits', 'bytes']);
      if (counts === 'digits' && !isBcd) {
        v.fail(`${path}.prefix.counts`,
          '"digits" applies to BCD data only; text and binary count bytes');
      }
      countsDigits = counts === 'digits';
    } else if (isBcd) {
      v.fail(`${path}.prefix.counts`,
        'BCD data must say whether the prefix counts "digits" or "bytes"');
    }
    const largestCount = isBcd && !countsDigits ? (maxLength + 1) >> 1 : maxLength;
    if (largestCount > prefixMax) {
      v.fail(`${path}.maxLength`,
        `${maxLength} does not fit a prefix whose largest value is ${prefixMax}`);
    }
  }

  let bcdLeftAligned = false;
  let padNibble = 0;
  if (f.align !== undefined || f.padNibble !== undefined) {
    if (!isBcd) v.fail(`${path}.align`, '"align" and "padNibble" apply to BCD data only');
    if (f.align !== undefined) {
      bcdLeftAligned = v.oneOf(f.align, `${path}.align`, ['left', 'right']) === 'left';
    }
    if (f.padNibble !== undefined) {
      padNibble = v.oneOf(f.padNibble, `${path}.padNibble`, ['0', 'F']) === 'F' ? 0xf : 0;
    }
  }

  let padChar = -1;
  let padLeft = false;
  if (f.pad !== undefined) {
    if (!isFixed || encoding === DataEncoding.Binary) {
      v.fail(`${path}.pad`, 'padding applies to fixed-length text and numeric fields only');
    }
    const pad = v.object(f.pad, `${path}.pad`);
    v.onlyKeys(pad, ['side', 'char'], `${path}.pad.`);
    padLeft = v.oneOf(pad.side, `${path}.pad.side`, ['left', 'right']) === 'left';
    const ch = v.string(pad.char, `${path}.pad.char`);
    if (ch.length !== 1 || CONTENT_CLASS_TABLES[content]![ch.charCodeAt(0)] !== 1) {
      v.fail(`${path}.pad.char`, `must be one character allowed in content "${content}"`);
    }
    padChar = ch.charCodeAt(0);
  }

  const { composite, subfields } = compileComposite(v, f.composite, path, content, fixedLength);
  const allowed = CONTENT_CLASS_TABLES[content]!;
  const [runFirst, runLast] = longestAllowedAsciiRun(allowed);

  return Object.freeze({
    de,
    label: FIELD_LABELS[de]!,
    name,
    content,
    encoding,
    isBinary: content === 'b',
    fixedLength,
    fixedBytes,
    minLength,
    maxLength,
    prefixEncoding,
    prefixBytes,
    prefixDigits,
    prefixMax,
    countsDigits,
    bcdLeftAligned,
    padNibble,
    padChar,
    padLeft,
    allowed,
    allowedRunFirst: runFirst,
    allowedRunSpan: runLast - runFirst,
    signedAmount: content === 'x+n',
    composite,
    subfields,
  });
}

/**
 * First and last code of the longest run of allowed ASCII codes (below 0x80) in a content table:
 * field values are overwhelmingly ASCII, so that run is the one worth a fast path.
 */
function longestAllowedAsciiRun(allowed: Uint8Array): [number, number] {
  const ASCII_END = 0x80;
  let bestFirst = 0;
  let bestLength = 0;
  let runFirst = 0;
  for (let code = 0; code <= ASCII_END; code++) {
    if (code < ASCII_END && allowed[code] === 1) continue;
    if (code - runFirst > bestLength) {
      bestFirst = runFirst;
      bestLength = code - runFirst;
    }
    runFirst = code + 1;
  }
  return [bestFirst, bestFirst + bestLength - 1];
}

function checkContentEncoding(v: Validator, content: ContentClass, encoding: DataEncoding,
  path: string): void {
  if ((content === 'b') !== (encoding === DataEncoding.Binary)) {
    v.fail(`${path}.encoding`, 'content "b" and encoding "binary" go together');
  }
  if (encoding === DataEncoding.Bcd && content !== 'n' && content !== 'z') {
    v.fail(`${path}.encoding`, 'BCD carries content "n" or "z" only');
  }
}

function compileComposite(v: Validator, raw: unknown, path: string, content: ContentClass,
  fixedLength: number): { composite: CompositeKind; subfields: readonly PositionalSubfield[] } {
  if (raw === undefined) return { composite: CompositeKind.None, subfields: [] };
  const cpath = `${path}.composite`;
  const c = v.object(raw, cpath);
  v.onlyKeys(c, ['kind', 'subfields'], `${cpath}.`);
  const kind = v.oneOf(c.kind, `${cpath}.kind`, ['ber-tlv', 'tcc-tlv', 'positional']);
  if (kind !== 'positional' && c.subfields !== undefined) {
    v.fail(`${cpath}.subfields`, 'only positional composites list subfields');
  }
  if (kind === 'ber-tlv') {
    if (content !== 'b') v.fail(`${cpath}.kind`, 'BER-TLV needs a binary field (content "b")');
    return { composite: CompositeKind.BerTlv, subfields: [] };
  }
  if (kind === 'tcc-tlv') {
    if (content === 'b' || fixedLength !== 0) {
      v.fail(`${cpath}.kind`, 'tcc-tlv needs a variable-length text field');
    }
    return { composite: CompositeKind.TccTlv, subfields: [] };
  }
  if (fixedLength === 0 || content === 'b') {
    v.fail(`${cpath}.kind`, 'positional subfields need a fixed-length text field');
  }
  if (!Array.isArray(c.subfields) || c.subfields.length === 0) {
    v.fail(`${cpath}.subfields`, 'must be a non-empty array');
  }
  const list: PositionalSubfield[] = [];
  let offset = 0;
  (c.subfields as unknown[]).forEach((item, i) => {
    const spath = `${cpath}.subfields.${i}`;
    const s = v.object(item, spath);
    v.onlyKeys(s, ['name', 'length'], `${spath}.`);
    const name = v.string(s.name, `${spath}.name`);
    const length = v.integer(s.length, `${spath}.length`, 1, fixedLength);
    list.push(Object.freeze({ name, offset, length }));
    offset += length;
  });
  if (offset !== fixedLength) {
    v.fail(`${cpath}.subfields`, `lengths add up to ${offset}, the field is ${fixedLength}`);
  }
  return { composite: CompositeKind.Positional, subfields: Object.freeze(list) };
}

/** Small typed readers that throw DialectError with the JSON path of the bad key. */
class Validator {
  constructor(private readonly dialect: string) {}

  fail(key: string, reason: string): never {
    throw new DialectError(this.dialect, key, reason);
  }

  object(value: unknown, key: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(key, 'must be an object');
    }
    return value as Record<string, unknown>;
  }

  onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], prefix: string): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) this.fail(`${prefix}${key}`, 'unknown key (misspelt?)');
    }
  }

  string(value: unknown, key: string): string {
    if (typeof value !== 'string' || value.length === 0) {
      this.fail(key, 'must be a non-empty string');
    }
    return value;
  }

  stringList(value: unknown, key: string): string[] {
    if (!Array.isArray(value) || value.length === 0) {
      this.fail(key, 'must be a non-empty array of strings');
    }
    return value.map((item: unknown, i: number) => this.string(item, `${key}.${i}`));
  }

  boolean(value: unknown, key: string): boolean {
    if (typeof value !== 'boolean') this.fail(key, 'must be true or false');
    return value;
  }

  integer(value: unknown, key: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(key, `must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, key: string, allowed: readonly T[]): T {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.fail(key, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
    }
    return value as T;
  }
}
