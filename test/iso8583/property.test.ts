/**
 * Properties over every dialect (the shipped three plus variants with hex bitmaps, EBCDIC 1047
 * and a tertiary bitmap): decode(encode(m)) gives m back; random and mutated bytes only ever give
 * a message or an Iso8583DecodeError, never an exception. Runs are bounded (a few hundred cases
 * per property) so the file finishes in a few seconds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  compileDialect, decode, encode, IsoMessage, Iso8583DecodeError, loadDialect, peekMtiAndStan, presenceMask,
  type Dialect,
} from '../../src/iso8583';
import { dialectJson, fieldsOf, messageArbitrary, SHIPPED_DIALECTS, variant } from './support';

function tertiaryDialect(): Dialect {
  const json = dialectJson('ascii');
  json.name = 'ascii-tertiary';
  json.bitmap = { encoding: 'hex-ebcdic', secondary: 'when-needed', tertiary: true };
  delete json.fields['65'];
  for (let de = 129; de <= 192; de++) {
    json.fields[de] = de % 2 === 0
      ? { name: `private ${de}`, content: 'ans', encoding: 'ascii', maxLength: 99, prefix: { encoding: 'ascii', digits: 2 } }
      : { name: `private ${de}`, content: 'n', encoding: 'ascii', length: 4 };
  }
  return compileDialect(json, json.name);
}

const DIALECTS: Dialect[] = [
  ...SHIPPED_DIALECTS.map((name) => loadDialect(name)),
  variant('ascii', 'ascii-hex-bitmap', (json) => {
    json.bitmap = { encoding: 'hex-ascii', secondary: 'when-needed', tertiary: false };
  }),
  variant('mastercard-ebcdic', 'mastercard-1047', (json) => {
    for (const field of Object.values(json.fields)) {
      if (field.encoding === 'ebcdic037') field.encoding = 'ebcdic1047';
    }
  }),
  tertiaryDialect(),
];

const RUNS = 200;
const FIELD_LABEL = /^(MTI|bitmap|frame|DE \d{1,3})$/;

/** decode() must return a message or a well-formed error, whatever the bytes. */
function decodesSafely(dialect: Dialect, frame: Buffer): IsoMessage | Iso8583DecodeError {
  const result = decode(dialect, frame);
  if (result instanceof Iso8583DecodeError) {
    assert.notEqual(result.code, 'ISO_INTERNAL', `internal failure: ${result.message}`);
    assert.match(result.field, FIELD_LABEL);
    assert.ok(result.offset >= 0 && result.offset <= Math.max(frame.length, dialect.maxFrameBytes));
    assert.ok(result.reason.length > 0);
  } else {
    assert.ok(result instanceof IsoMessage);
    // Whatever decoded must read back and re-encode to something that decodes the same.
    const again = decode(dialect, encode(dialect, result));
    assert.ok(again instanceof IsoMessage);
    assert.deepEqual(fieldsOf(dialect, again), fieldsOf(dialect, result));
  }
  peekMtiAndStan(dialect, frame);
  return result;
}

/** A valid frame with one random change: flipped byte, truncation, insertion or extension. */
function mutatedFrame(dialect: Dialect): fc.Arbitrary<Buffer> {
  return fc.tuple(messageArbitrary(dialect, 12), fc.nat(), fc.integer({ min: 0, max: 255 }),
    fc.constantFrom('flip', 'truncate', 'insert', 'append', 'set-bit'))
    .map(([message, at, byte, how]) => {
      const frame = encode(dialect, message);
      const i = frame.length === 0 ? 0 : at % frame.length;
      switch (how) {
        case 'flip': { const copy = Buffer.from(frame); copy[i] = copy[i]! ^ (byte | 1); return copy; }
        case 'truncate': return frame.subarray(0, i);
        case 'insert': return Buffer.concat([frame.subarray(0, i), Buffer.from([byte]), frame.subarray(i)]);
        case 'append': return Buffer.concat([frame, Buffer.from([byte])]);
        default: {
          // Turn on one bitmap bit, so a field appears that the data does not hold.
          const copy = Buffer.from(frame);
          const bitmapAt = dialect.mtiBytes + (at % dialect.bitmapBytes);
          if (bitmapAt < copy.length) copy[bitmapAt] = copy[bitmapAt]! | (1 << (byte % 8));
          return copy;
        }
      }
    });
}

for (const dialect of DIALECTS) {
  describe(`dialect ${dialect.name}`, () => {
    it('decode(encode(m)) gives back every field of m', () => {
      fc.assert(fc.property(messageArbitrary(dialect), (message) => {
        const frame = encode(dialect, message);
        const back = decode(dialect, frame);
        assert.ok(back instanceof IsoMessage, back instanceof Iso8583DecodeError ? back.message : '');
        assert.deepEqual(fieldsOf(dialect, back), fieldsOf(dialect, message));
      }), { numRuns: RUNS });
    });

    it('an echo of a message (decoded or built) holds exactly the kept fields, plus what is set on it', () => {
      const numbers = dialect.fields.flatMap((spec, de) => (spec === undefined ? [] : [de]));
      fc.assert(fc.property(messageArbitrary(dialect), fc.subarray(numbers), fc.boolean(), (message, keep, fromFrame) => {
        const source = fromFrame ? decode(dialect, encode(dialect, message)) : message;
        assert.ok(source instanceof IsoMessage);
        const expected = { ...Object.fromEntries(Object.entries(fieldsOf(dialect, message))
          .filter(([de]) => keep.includes(Number(de)))), mti: '0110' };
        const echo = IsoMessage.echoing(source, '0110', presenceMask(keep));
        assert.deepEqual(fieldsOf(dialect, echo), expected);
        const back = decode(dialect, encode(dialect, echo));
        assert.ok(back instanceof IsoMessage, back instanceof Iso8583DecodeError ? back.message : '');
        assert.equal(back.mti, '0110');
        assert.deepEqual(fieldsOf(dialect, back), expected);
        // Setting on the echo changes neither its source nor the kept fields.
        const before = fieldsOf(dialect, source);
        echo.set(39, '05');
        assert.deepEqual(fieldsOf(dialect, source), before);
        assert.equal(echo.getString(39), '05');
      }), { numRuns: RUNS });
    });

    it('re-encoding a decoded message reproduces the frame byte for byte', () => {
      fc.assert(fc.property(messageArbitrary(dialect), (message) => {
        const frame = encode(dialect, message);
        const back = decode(dialect, frame) as IsoMessage;
        assert.deepEqual(encode(dialect, back), frame);
      }), { numRuns: RUNS });
    });

    it('random bytes give a message or a typed error, never an exception', () => {
      const mtiBytes = fc.uint8Array({ minLength: 0, maxLength: 200 }).map((b) => Buffer.from(b));
      fc.assert(fc.property(mtiBytes, (frame) => { decodesSafely(dialect, frame); }), { numRuns: RUNS });
    });

    it('mutated valid frames give a message or a typed error, never an exception', () => {
      fc.assert(fc.property(mutatedFrame(dialect), (frame) => { decodesSafely(dialect, frame); }),
        { numRuns: RUNS * 2 });
    });
  });
}

describe('errors never carry field values', () => {
  it('a PAN in a frame that fails to decode never appears in the error text', () => {
    const dialect = loadDialect('ascii');
    const pan = '4761739001010119';
    fc.assert(fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, xor) => {
      const message = new IsoMessage('0100').set(2, pan).set(3, '000000').set(4, '000000001000')
        .set(11, '000001').set(35, `${pan}=2512101`).set(45, `B${pan}^TEST/CARD^2512101`);
      const frame = Buffer.from(encode(dialect, message));
      frame[20 + (at % (frame.length - 20))]! ^= xor;
      const result = decode(dialect, frame);
      if (result instanceof Iso8583DecodeError) {
        assert.ok(!result.message.includes(pan.slice(0, 8)) && !result.message.includes(pan.slice(-8)));
      }
    }), { numRuns: RUNS });
  });
});
