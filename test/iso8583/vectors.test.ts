/**
 * Public test vectors (docs iso8583-landscape.md, section (d)), each checked in both directions:
 * the bytes decode to the stated fields, and the fields encode to the same bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileDialect, encode, encodeEmvTlv, IsoMessage, loadDialect, parseEmvTlv, type Dialect,
  Iso8583DecodeError,
} from '../../src/iso8583';
import { decoded, fieldsOf, hex, pyDefaultAscii, variant } from './support';

/** A dialect where every field is one ASCII character, so a frame is mostly its bitmaps. */
function oneCharFields(bitmap: 'binary' | 'hex-ascii' | 'hex-ebcdic', tertiary: boolean): Dialect {
  const fields: Record<string, unknown> = {};
  for (let de = 2; de <= (tertiary ? 192 : 128); de++) {
    if (de === 65 && tertiary) continue;
    fields[de] = { name: `field ${de}`, content: 'ans', encoding: 'ascii', length: 1 };
  }
  return compileDialect({
    name: 'one-char', modelledOn: ['test only'], maxFrameBytes: 1024,
    mti: { encoding: 'ascii' }, bitmap: { encoding: bitmap, secondary: 'when-needed', tertiary },
    fields,
  }, 'one-char');
}

function withFields(mti: string, values: Record<number, string | Buffer>): IsoMessage {
  const message = new IsoMessage(mti);
  for (const [de, value] of Object.entries(values)) message.set(Number(de), value);
  return message;
}

function frameWithOneCharFields(mti: string, bitmaps: Buffer, fields: number[]): Buffer {
  return Buffer.concat([Buffer.from(mti, 'latin1'), bitmaps, Buffer.from('x'.repeat(fields.length), 'latin1')]);
}

describe('vector 1: bitmap decoding (Wikipedia "Bitmaps")', () => {
  const dialect = oneCharFields('binary', false);
  const cases: [string, number[]][] = [
    ['4210001102C04804', [2, 7, 12, 28, 32, 39, 41, 42, 50, 53, 62]],
    ['7234054128C28805', [2, 3, 4, 7, 11, 12, 14, 22, 24, 26, 32, 35, 37, 41, 42, 47, 49, 53, 62, 64]],
    ['8000000000000001' + '0000000000000003', [64, 127, 128]],
  ];
  for (const [bitmapHex, fields] of cases) {
    it(`${bitmapHex} decodes to fields ${fields.join(',')} and encodes back`, () => {
      const frame = frameWithOneCharFields('0200', hex(bitmapHex), fields);
      const message = decoded(dialect, frame);
      assert.deepEqual(message.presentFields(), fields);
      assert.deepEqual(encode(dialect, message), frame);
    });
  }
});

describe('vector 2: the same bitmap in three encodings (pyiso8583 tests)', () => {
  const primary = [2, 3, 4, 12, 28, 32, 39, 41, 42, 50, 53, 62];
  const encodings: ['binary' | 'hex-ascii' | 'hex-ebcdic', Buffer][] = [
    ['hex-ascii', Buffer.from('7010001102C04804', 'latin1')],
    ['hex-ebcdic', hex('F7 F0 F1 F0 F0 F0 F1 F1 F0 F2 C3 F0 F4 F8 F0 F4')],
    ['binary', hex('70 10 00 11 02 C0 48 04')],
  ];
  for (const [encoding, bitmap] of encodings) {
    it(`primary bitmap in ${encoding} gives ${primary.join(',')}`, () => {
      const dialect = oneCharFields(encoding, false);
      const frame = frameWithOneCharFields('0100', bitmap, primary);
      assert.deepEqual(decoded(dialect, frame).presentFields(), primary);
      assert.deepEqual(encode(dialect, decoded(dialect, frame)), frame);
    });
  }

  it('the same bytes as a secondary bitmap give 66,67,68,76,92,96,103,105,106,114,117,126', () => {
    const dialect = oneCharFields('binary', false);
    const secondary = [66, 67, 68, 76, 92, 96, 103, 105, 106, 114, 117, 126];
    const frame = frameWithOneCharFields('0100', hex('8000000000000000 7010001102C04804'), secondary);
    assert.deepEqual(decoded(dialect, frame).presentFields(), secondary);
    assert.deepEqual(encode(dialect, decoded(dialect, frame)), frame);
  });

  it('a tertiary bitmap (bit 65 set) gives 130,131,132,140,156,160,167,169,170,178,181,190', () => {
    const dialect = oneCharFields('binary', true);
    const tertiary = [130, 131, 132, 140, 156, 160, 167, 169, 170, 178, 181, 190];
    const bitmaps = hex('8000000000000000 8000000000000000 7010001102C04804');
    const frame = frameWithOneCharFields('0100', bitmaps, tertiary);
    assert.deepEqual(decoded(dialect, frame).presentFields(), tertiary);
    assert.deepEqual(encode(dialect, decoded(dialect, frame)), frame);
  });
});

describe('vectors 3 to 5: pyiso8583 default_ascii messages', () => {
  const dialect = pyDefaultAscii();
  const cases: [string, string, Record<string, string>][] = [
    ['minimal request (README)', '02004000000000000000101234567890', { mti: '0200', 2: '1234567890' }],
    ['its response (README)', '0210000000000200000005', { mti: '0210', 39: '05' }],
    ['secondary bitmap only (howto)', '02008000000000000000000000000400000006111111', { mti: '0200', 102: '111111' }],
    ['DE 21 and DE 102 (howto)', '02008000080000000000000000000400000005106111111', { mti: '0200', 21: '051', 102: '111111' }],
    ['LLVAR text PAN (howto)', '0200600008000000000014cardholder PAN111111021', { mti: '0200', 2: 'cardholder PAN', 3: '111111', 21: '021' }],
  ];
  for (const [what, wire, fields] of cases) {
    it(`${what}: ${wire} <-> ${JSON.stringify(fields)}`, () => {
      const frame = Buffer.from(wire, 'latin1');
      assert.deepEqual(fieldsOf(dialect, decoded(dialect, frame)), fields);
      const { mti, ...values } = fields;
      assert.deepEqual(encode(dialect, withFields(mti!, values)), frame);
    });
  }

  it('vector 5: DE 55 as binary behind an ASCII LLL length holds 9F02=000000012345 and 5F34=02', () => {
    const tlv = hex('9F 02 06 00 00 00 01 23 45 5F 34 01 02');
    const frame = Buffer.concat([Buffer.from('02000000000000000200013', 'latin1'), tlv]);
    const message = decoded(dialect, frame);
    assert.deepEqual(message.getBytes(55), tlv);
    const elements = parseEmvTlv(message.getBytes(55)!);
    assert.ok(!(elements instanceof Iso8583DecodeError));
    assert.deepEqual(elements.map((e) => [e.tag, e.value.toString('hex')]), [['9F02', '000000012345'], ['5F34', '02']]);
    assert.deepEqual(encode(dialect, withFields('0200', { 55: tlv })), frame);
  });
});

describe('vector 6: BER-TLV with tags no spec lists (moov#213)', () => {
  const field = hex('30 32 36 | 9F 36 02 01 57 | 9A 03 21 07 20 | 9F 02 06 00 00 00 00 05 01 | 9F 37 04 9B AD BC AB');

  it('the ASCII LLL "026" value parses to 9F36, 9A, 9F02, 9F37 and re-packs byte for byte', () => {
    assert.equal(field.subarray(0, 3).toString('latin1'), '026');
    const value = field.subarray(3);
    assert.equal(value.length, 26);
    const elements = parseEmvTlv(value);
    assert.ok(!(elements instanceof Iso8583DecodeError));
    assert.deepEqual(elements.map((e) => [e.tag, e.value.toString('hex').toUpperCase()]), [
      ['9F36', '0157'], ['9A', '210720'], ['9F02', '000000000501'], ['9F37', '9BADBCAB'],
    ]);
    assert.deepEqual(encodeEmvTlv(elements), value);
  });

  it('BER lengths 126 and 254 encode as 7E and 81 FE', () => {
    const short = encodeEmvTlv([{ tag: 'DF01', value: Buffer.alloc(126) }]);
    const long = encodeEmvTlv([{ tag: 'DF01', value: Buffer.alloc(254) }]);
    assert.deepEqual(short.subarray(2, 3), hex('7E'));
    assert.deepEqual(long.subarray(2, 4), hex('81 FE'));
  });
});

describe('vector 7: BCD, nibble counts and binary lengths (pyiso8583 test_nibbles, py#29)', () => {
  function pan(field: Record<string, unknown>): Dialect {
    return variant('visa-bcd', 'nibbles', (json) => {
      json.fields['2'] = { name: 'PAN', content: 'n', encoding: 'bcd', maxLength: 19, ...field };
    });
  }
  const cases: [string, Dialect, string, Buffer][] = [
    ['"1234" behind a 2-byte BCD length counting nibbles', pan({ prefix: { encoding: 'bcd', digits: 4, counts: 'digits' } }), '1234', hex('00 04 12 34')],
    ['"123" behind an ASCII LL, left pad 0', pan({ prefix: { encoding: 'ascii', digits: 2, counts: 'digits' } }), '123', Buffer.concat([Buffer.from('03'), hex('01 23')])],
    ['"123" behind an ASCII LL, right pad F', pan({ prefix: { encoding: 'ascii', digits: 2, counts: 'digits' }, align: 'left', padNibble: 'F' }), '123', Buffer.concat([Buffer.from('03'), hex('12 3F')])],
    ['Visa PAN 1234567890123456 behind a 1-byte binary length', loadDialect('visa-bcd'), '1234567890123456', hex('10 12 34 56 78 90 12 34 56')],
    ['odd PAN 121200000002121 behind a BCD length, right pad 0', pan({ prefix: { encoding: 'bcd', digits: 2, counts: 'digits' }, align: 'left' }), '121200000002121', hex('15 12 12 00 00 00 02 12 10')],
  ];
  for (const [what, dialect, value, bytes] of cases) {
    it(`${what}: ${bytes.toString('hex')}`, () => {
      const frame = encode(dialect, withFields('0100', { 2: value }));
      // BCD MTI (2 bytes) and one binary bitmap (8 bytes) come first.
      assert.deepEqual(frame.subarray(10), bytes);
      assert.equal(decoded(dialect, frame).getString(2), value);
    });
  }
});

describe('vector 8: one 0800 in jPOS ASCII and binary images (ISO87APackager.bin, ISO87BPackager.bin)', () => {
  const pan = '1234567890123456789';
  function iso87(dialect: Dialect): IsoMessage {
    // Every field 2-64 plus 90, as ISO87.xml has; only the bytes up to DE 2 are compared.
    const message = new IsoMessage('0800');
    for (let de = 2; de <= 64; de++) {
      const spec = dialect.fields[de]!;
      const length = spec.fixedLength !== 0 ? spec.fixedLength : Math.max(spec.minLength, 1);
      if (de === 2) message.set(2, pan);
      else if (spec.isBinary) message.set(de, Buffer.alloc(length, 0x11));
      else if (spec.content === 'x+n') message.set(de, 'C'.padEnd(length, '0'));
      else if (spec.composite !== 0) continue;
      else message.set(de, '1'.repeat(length));
    }
    message.set(90, '0'.repeat(42));
    return message;
  }

  it('ASCII image starts 0800FFFFFFFFFFFFFFFF0000004000000000191234567890123456789', () => {
    const dialect = variant('ascii', 'iso87a', (json) => {
      json.bitmap = { encoding: 'hex-ascii', secondary: 'when-needed', tertiary: false };
      delete json.fields['48']!.composite;
      delete json.fields['55'];
      json.fields['55'] = { name: 'ICC', content: 'ans', encoding: 'ascii', maxLength: 999, prefix: { encoding: 'ascii', digits: 3 } };
    });
    const frame = encode(dialect, iso87(dialect));
    assert.equal(frame.subarray(0, 57).toString('latin1'),
      '0800FFFFFFFFFFFFFFFF0000004000000000191234567890123456789');
  });

  it('binary image starts 08 00 FF x8 00 00 00 40 00 00 00 00 19 12 34 56 78 90 12 34 56 78 90', () => {
    const dialect = variant('visa-bcd', 'iso87b', (json) => {
      json.fields['2'] = { name: 'PAN', content: 'n', encoding: 'bcd', maxLength: 19, align: 'left', prefix: { encoding: 'bcd', digits: 2, counts: 'digits' } };
      json.fields['55'] = { name: 'ICC', content: 'b', encoding: 'binary', maxLength: 255, prefix: { encoding: 'binary', bytes: 1 } };
    });
    const frame = encode(dialect, iso87(dialect));
    assert.deepEqual(frame.subarray(0, 29),
      hex('08 00 FF FF FF FF FF FF FF FF 00 00 00 40 00 00 00 00 19 12 34 56 78 90 12 34 56 78 90'));
  });
});

describe('vector 9: network management 0800 (moov testdata, i8583 crate)', () => {
  const dialect = variant('ascii', 'ascii-hex-bitmap', (json) => {
    json.bitmap = { encoding: 'hex-ascii', secondary: 'when-needed', tertiary: false };
  });
  const cases: [string, Record<string, string>][] = [
    ['0800823A0000000000000400000000000000042009061390000109061304200420001',
      { mti: '0800', 7: '0420090613', 11: '900001', 12: '090613', 13: '0420', 15: '0420', 70: '001' }],
    ['08002238000000800000000000070814102414102414102407082020XXXX',
      { mti: '0800', 3: '000000', 7: '0708141024', 11: '141024', 12: '141024', 13: '0708', 41: '2020XXXX' }],
  ];
  for (const [wire, fields] of cases) {
    it(`${wire.slice(0, 20)}... decodes to ${Object.keys(fields).join(',')} and encodes back`, () => {
      const frame = Buffer.from(wire, 'latin1');
      assert.deepEqual(fieldsOf(dialect, decoded(dialect, frame)), fields);
      const { mti, ...values } = fields;
      assert.deepEqual(encode(dialect, withFields(mti!, values)), frame);
    });
  }
});

describe('vector 10: iso_8583 bitmap check in the ascii dialect (secondary always sent)', () => {
  it('MTI 1200 with 2,3,4,6,22,23,25,26,32,33,35,41 has bitmap f40006c1a0800000 and a zero secondary', () => {
    const dialect = loadDialect('ascii');
    const message = withFields('1200', {
      2: '4761739001010010', 3: '000000', 4: '000000001000', 6: '000000001000', 22: '051', 23: '001',
      25: '00', 26: '12', 32: '12345', 33: '54321', 35: '4761739001010010=2512', 41: 'TERM0001',
    });
    const frame = encode(dialect, message);
    assert.equal(frame.subarray(4, 20).toString('hex'), 'f40006c1a0800000' + '0000000000000000');
    assert.equal(frame[4]! & 0x80, 0x80, 'bit 1 announces the (empty) secondary bitmap');
  });
});

/** Known EBCDIC code points (IBM 037): digits F0-F9, space 40, A C1, R D9, T E3. */
function ebcdicDigits(digits: string): Buffer {
  return Buffer.from([...digits].map((d) => 0xf0 + Number(d)));
}

describe('mastercard-ebcdic dialect vectors', () => {
  const dialect = loadDialect('mastercard-ebcdic');

  it('an 0800 sign-on is EBCDIC MTI, binary bitmaps, EBCDIC digits', () => {
    const frame = Buffer.concat([
      ebcdicDigits('0800'), hex('82 20 00 00 00 00 00 00 04 00 00 00 00 00 00 00'),
      ebcdicDigits('0420090613'), ebcdicDigits('900001'), ebcdicDigits('001'),
    ]);
    const fields = { mti: '0800', 7: '0420090613', 11: '900001', 70: '001' };
    assert.deepEqual(fieldsOf(dialect, decoded(dialect, frame)), fields);
    assert.deepEqual(encode(dialect, withFields('0800', { 7: '0420090613', 11: '900001', 70: '001' })), frame);
  });

  it('DE 2 is an EBCDIC LL length then EBCDIC digits; DE 48 a TCC then id-length-value', () => {
    const de48 = Buffer.concat([hex('D9'), ebcdicDigits('6103'), hex('F1 F0 F0'), ebcdicDigits('9203'), ebcdicDigits('123')]);
    const frame = Buffer.concat([
      ebcdicDigits('0100'), hex('40 00 00 00 00 01 00 00'),
      ebcdicDigits('16'), ebcdicDigits('5413330089010434'),
      ebcdicDigits('015'), de48,
    ]);
    const message = decoded(dialect, frame);
    assert.equal(message.getString(2), '5413330089010434');
    assert.equal(message.getString(48), 'R61031009203123');
    assert.deepEqual(encode(dialect, withFields('0100', { 2: '5413330089010434', 48: 'R61031009203123' })), frame);
  });

  it('DE 43 text uses EBCDIC letters and spaces', () => {
    const message = withFields('0110', { 39: '00', 41: 'TA 1' });
    const frame = encode(dialect, message);
    assert.deepEqual(frame.subarray(-10), Buffer.concat([ebcdicDigits('00'), hex('E3 C1 40 F1 40 40 40 40')]));
  });
});

describe('visa-bcd dialect vectors', () => {
  const dialect = loadDialect('visa-bcd');
  const cases: [string, string, Buffer][] = [
    ['even track 2', '4761739001010010=2512101', hex('18 47 61 73 90 01 01 00 10 D2 51 21 01')],
    ['odd track 2 (pad nibble 0 first)', '4761739001010010=251210', hex('17 04 76 17 39 00 10 10 01 0D 25 12 10')],
  ];
  for (const [what, track2, de35] of cases) {
    it(`an 0100 with BCD MTI and amounts and ${what} with its D separator nibble`, () => {
      const frame = Buffer.concat([
        hex('01 00'), hex('30 00 00 00 20 00 00 00'), hex('00 00 00'), hex('00 00 00 00 25 99'), de35,
      ]);
      assert.deepEqual(encode(dialect, withFields('0100', { 3: '000000', 4: '2599', 35: track2 })), frame);
      assert.deepEqual(fieldsOf(dialect, decoded(dialect, frame)),
        { mti: '0100', 3: '000000', 4: '000000002599', 35: track2 });
    });
  }
});
