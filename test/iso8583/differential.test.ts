/**
 * Differential test against the npm iso_8583 package (2.6.7, the oracle): random valid
 * messages in the ascii dialect encode to the same bytes as iso_8583's getBufferMessage() (less
 * its 2-byte length header), and each side decodes the other's bytes to the same fields.
 *
 * Fields left out, because iso_8583's default formats deviate from ISO 8583:1987 there (see
 * docs/codec.md): 53 (its b 96 hex), 64, 96 and 128 (its "b 8" is 8 hex digits, 4 bytes), 65
 * (half a byte), 127 (its Postilion sub-message).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import Iso8583 from 'iso_8583';
import { decode, encode, IsoMessage, loadDialect, Iso8583DecodeError } from '../../src/iso8583';

const dialect = loadDialect('ascii');
const EXCLUDED = new Set([53, 64, 65, 96, 127, 128]);
const FIELDS = dialect.fields.flatMap((spec, de) => (spec === undefined || EXCLUDED.has(de) ? [] : [de]));
/** MTIs iso_8583 accepts (it checks a list); enough variety for the bitmaps and fields. */
const MTIS = ['0100', '0110', '0120', '0200', '0210', '0400', '0410', '0420', '0430', '0800', '0810'];

const DIGITS = [...'0123456789'];
const ALNUM = [...DIGITS, ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'];
/** Characters both iso_8583's content regexes and ours accept. */
const CHARS: Record<string, string[]> = {
  n: DIGITS,
  an: ALNUM,
  ans: [...ALNUM, ...' -.,/:()*&'],
  anp: [...ALNUM, ' '],
  ns: [...DIGITS, ...' -./'],
  z: [...DIGITS, '='],
};
/** Longest generated value: keeps runs fast; lengths up to each maximum are covered elsewhere. */
const LONGEST = 40;

function text(chars: string[], min: number, max: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...chars), minLength: min, maxLength: max });
}

/**
 * DE 55 for both sides: BER-TLV whose every byte is a printable character iso_8583's "ans"
 * accepts, so its text and our bytes are the same wire bytes. One-byte tags P, W, Z; lengths
 * whose byte is a digit or letter.
 */
const PRINTABLE_TLV = fc.array(fc.record({
  tag: fc.constantFrom('P', 'W', 'Z'),
  length: fc.constantFrom(...[...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((c) => c.charCodeAt(0))),
}), { minLength: 1, maxLength: 3 }).chain((heads) => fc.tuple(...heads.map((h) =>
  text([...ALNUM, ' '], h.length, h.length).map((value) => h.tag + String.fromCharCode(h.length) + value))))
  .map((parts) => parts.join(''));

function valueFor(de: number): fc.Arbitrary<string> {
  const spec = dialect.fields[de]!;
  if (de === 55) return PRINTABLE_TLV;
  if (de === 52) return text([...'0123456789abcdef'], 16, 16);
  if (spec.content === 'x+n') {
    return fc.tuple(fc.constantFrom('C', 'D'), text(DIGITS, spec.fixedLength - 1, spec.fixedLength - 1))
      .map(([sign, digits]) => sign + digits);
  }
  const chars = CHARS[spec.content]!;
  assert.ok(chars, `no character set for content ${spec.content}`);
  if (spec.fixedLength !== 0) return text(chars, spec.fixedLength, spec.fixedLength);
  // iso_8583 treats an empty value as absent, so variable fields get at least one character.
  return text(chars, Math.max(1, spec.minLength), Math.min(spec.maxLength, LONGEST));
}

/** A message as iso_8583's JSON (DE 52 as hex, DE 55 as its printable text). */
const ISO_JSON = fc.tuple(fc.constantFrom(...MTIS), fc.subarray(FIELDS, { minLength: 1, maxLength: 30 }))
  .chain(([mti, des]) => fc.tuple(...des.map(valueFor)).map((values) => {
    const json: Record<string, string> = { 0: mti };
    des.forEach((de, i) => { json[de] = values[i]!; });
    return json;
  }));

function ourMessage(json: Record<string, string>): IsoMessage {
  const message = new IsoMessage(json[0]!);
  for (const [key, value] of Object.entries(json)) {
    const de = Number(key);
    if (de === 0) continue;
    if (de === 52) message.set(de, Buffer.from(value, 'hex'));
    else if (de === 55) message.set(de, Buffer.from(value, 'latin1'));
    else message.set(de, value);
  }
  return message;
}

function asJson(message: IsoMessage): Record<string, string> {
  const json: Record<string, string> = { 0: message.mti };
  for (const de of message.presentFields()) {
    json[de] = de === 52 ? message.getBytes(de)!.toString('hex')
      : de === 55 ? message.getBytes(de)!.toString('latin1') : message.getString(de)!;
  }
  return json;
}

/** Bounded so the file runs in a few seconds; iso_8583 takes about 50-90 us per pack. */
const RUNS = 300;

describe('ascii dialect against iso_8583 (differential)', () => {
  it('random valid messages encode to the same bytes as iso_8583 (after its length header)', () => {
    fc.assert(fc.property(ISO_JSON, (json) => {
      const theirs = new Iso8583(json).getBufferMessage();
      assert.ok(Buffer.isBuffer(theirs), `iso_8583 refused the message: ${JSON.stringify(theirs)}`);
      assert.equal(theirs.readUInt16BE(0), theirs.length - 2);
      assert.deepEqual(encode(dialect, ourMessage(json)).toString('hex'), theirs.subarray(2).toString('hex'));
    }), { numRuns: RUNS });
  });

  it('our decoder reads iso_8583 frames to the fields it was given', () => {
    fc.assert(fc.property(ISO_JSON, (json) => {
      const theirs = new Iso8583(json).getBufferMessage() as Buffer;
      const message = decode(dialect, theirs.subarray(2));
      assert.ok(!(message instanceof Iso8583DecodeError), message instanceof Iso8583DecodeError ? message.message : '');
      assert.deepEqual(asJson(message), json);
    }), { numRuns: RUNS });
  });

  it('iso_8583 reads our frames to the fields we encoded', () => {
    fc.assert(fc.property(ISO_JSON, (json) => {
      const ours = encode(dialect, ourMessage(json));
      const header = Buffer.alloc(2);
      header.writeUInt16BE(ours.length);
      const unpacked = new Iso8583().getIsoJSON(Buffer.concat([header, ours]), {});
      assert.ok(!('error' in unpacked), JSON.stringify(unpacked));
      assert.deepEqual(unpacked, json);
    }), { numRuns: RUNS });
  });
});
