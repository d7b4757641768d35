/**
 * Dialect files: the shipped ones load and match the editor schema; bad files are refused with a
 * DialectError naming the offending key.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import { compileDialect, defaultDialectDir, DialectError, loadDialect } from '../../src/iso8583';
import { dialectJson, SHIPPED_DIALECTS, type DialectJson } from './support';

const schema = JSON.parse(readFileSync(join(defaultDialectDir(), 'dialect.schema.json'), 'utf8')) as object;
const validateWithSchema = new Ajv({ allErrors: true }).compile(schema);

describe('shipped dialects', () => {
  for (const name of SHIPPED_DIALECTS) {
    it(`${name} loads, says what it is modelled on, and matches dialect.schema.json`, () => {
      const dialect = loadDialect(name);
      assert.equal(dialect.name, name);
      assert.ok(dialect.modelledOn.length >= 2);
      assert.ok(dialect.fields[2] !== undefined && dialect.fields[55] !== undefined);
      assert.equal(validateWithSchema(dialectJson(name)), true, JSON.stringify(validateWithSchema.errors));
    });
  }

  it('the default dialect directory is <repo>/config/dialects', () => {
    assert.match(defaultDialectDir(), /config[/\\]dialects$/);
  });
});

type Change = (json: DialectJson) => void;

/** Each bad change and the key its error must name. */
const BAD: [string, Change, string][] = [
  ['a misspelt top-level key', (j) => { j.maxFrameByte = 100; }, 'maxFrameByte'],
  ['no modelledOn', (j) => { delete j.modelledOn; }, 'modelledOn'],
  ['a frame limit above 16383', (j) => { j.maxFrameBytes = 20000; }, 'maxFrameBytes'],
  ['an unknown MTI encoding', (j) => { j.mti.encoding = 'utf8'; }, 'mti.encoding'],
  ['an unknown bitmap encoding', (j) => { j.bitmap.encoding = 'base64'; }, 'bitmap.encoding'],
  ['an unknown field encoding', (j) => { j.fields['2']!.encoding = 'ebcdic500'; }, 'fields.2.encoding'],
  ['text content in BCD', (j) => { j.fields['41']!.encoding = 'bcd'; }, 'fields.41.encoding'],
  ['binary encoding for text content', (j) => { j.fields['41']!.encoding = 'binary'; }, 'fields.41.encoding'],
  ['both length and maxLength', (j) => { j.fields['3']!.maxLength = 6; }, 'fields.3'],
  ['a maximum its prefix cannot carry', (j) => { j.fields['2']!.maxLength = 100; }, 'fields.2.maxLength'],
  ['a prefix with seven digits', (j) => { j.fields['2']!.prefix = { encoding: 'ascii', digits: 7 }; }, 'fields.2.prefix.digits'],
  ['a binary prefix given in digits', (j) => { j.fields['2']!.prefix = { encoding: 'binary', digits: 2 }; }, 'fields.2.prefix.digits'],
  ['a misspelt field key', (j) => { j.fields['2']!.maxlength = 19; }, 'fields.2.maxlength'],
  ['a field numbered 1', (j) => { j.fields['1'] = { ...j.fields['3'] }; }, 'fields.1'],
  ['a field above 128 without a tertiary bitmap', (j) => { j.fields['129'] = { ...j.fields['3'] }; }, 'fields.129'],
  ['DE 65 with a tertiary bitmap', (j) => { j.bitmap.tertiary = true; }, 'fields.65'],
  ['BER-TLV on a text field', (j) => { j.fields['48']!.composite = { kind: 'ber-tlv' }; }, 'fields.48.composite.kind'],
  ['positional subfields that do not add up', (j) => {
    j.fields['90']!.composite = { kind: 'positional', subfields: [{ name: 'originalMti', length: 4 }] };
  }, 'fields.90.composite.subfields'],
  ['a pad character the content does not allow', (j) => { j.fields['4']!.pad = { side: 'left', char: ' ' }; }, 'fields.4.pad.char'],
  ['align on a text field', (j) => { j.fields['41']!.align = 'left'; }, 'fields.41.align'],
];

describe('bad dialects are refused with the offending key named', () => {
  for (const [what, change, key] of BAD) {
    it(`${what}: DialectError names ${key}`, () => {
      const json = dialectJson('ascii');
      change(json);
      assert.throws(() => compileDialect(json, 'broken'), (err: unknown) =>
        err instanceof DialectError && err.key === key && err.message.includes(key));
    });
  }

  it('BCD data must say whether its prefix counts digits or bytes', () => {
    const json = dialectJson('visa-bcd');
    delete (json.fields['2']!.prefix as Record<string, unknown>).counts;
    assert.throws(() => compileDialect(json, 'broken'), (err: unknown) =>
      err instanceof DialectError && err.key === 'fields.2.prefix.counts');
  });

  it('the editor schema also rejects a misspelt key', () => {
    const json = dialectJson('ascii');
    json.fields['2']!.maxlength = 19;
    assert.equal(validateWithSchema(json), false);
  });
});

describe('loadDialect', () => {
  it('refuses names that could leave the dialect directory', () => {
    for (const name of ['../ascii', 'ascii.json', '/etc/passwd', 'ASCII', '']) {
      assert.throws(() => loadDialect(name), (err: unknown) => err instanceof DialectError && err.key === 'name');
    }
  });

  it('names the file when it is missing or not JSON, and checks the name inside matches', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dialects-'));
    try {
      assert.throws(() => loadDialect('absent', dir), (err: unknown) => err instanceof DialectError && err.key === '(file)');
      writeFileSync(join(dir, 'broken.json'), '{ not json');
      assert.throws(() => loadDialect('broken', dir), (err: unknown) => err instanceof DialectError && err.key === '(file)');
      writeFileSync(join(dir, 'other.json'), JSON.stringify(dialectJson('ascii')));
      assert.throws(() => loadDialect('other', dir), (err: unknown) => err instanceof DialectError && err.key === 'name');
      const renamed = { ...dialectJson('ascii'), name: 'renamed' };
      writeFileSync(join(dir, 'renamed.json'), JSON.stringify(renamed));
      assert.equal(loadDialect('renamed', dir).name, 'renamed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
