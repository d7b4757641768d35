/**
 * Exact behaviour of the codec: typed decode errors (code, field, offset), encode errors, views
 * and laziness, changes to decoded messages, peeking, masking and the composite accessors.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileDialect, decode, describeMasked, encode, encodeInto, encodeMastercardDe48, encodeOriginalDataElements,
  IsoMessage, Iso8583DecodeError, Iso8583EncodeError, loadDialect, maskPan, parseEmvTlv,
  parseMastercardDe48, parseOriginalDataElements, peekMtiAndStan, readSubfields, writeSubfields,
  NETWORK_MANAGEMENT_FIELDS, presenceMask,
} from '../../src/iso8583';
import { decoded, decodeError, fieldsOf, hex } from './support';

const ascii = loadDialect('ascii');
const mastercard = loadDialect('mastercard-ebcdic');
const visa = loadDialect('visa-bcd');
const PAN = '4761739001010119';

function authorisation(): IsoMessage {
  return new IsoMessage('0100').set(2, PAN).set(3, '000000').set(4, '000000002599')
    .set(11, '004217').set(35, `${PAN}=27122011234567890`).set(41, 'TERM0042').set(49, '826')
    .set(52, hex('0123456789ABCDEF')).set(55, hex('9F02060000000025995F340101'));
}

/** ASCII 0100 + empty secondary + the given primary bitmap bytes + field bytes. */
function asciiFrame(primary: string, body: string | Buffer): Buffer {
  const bitmap = hex(primary);
  bitmap[0] = bitmap[0]! | 0x80;
  return Buffer.concat([Buffer.from('0100'), bitmap, Buffer.alloc(8),
    typeof body === 'string' ? Buffer.from(body, 'latin1') : body]);
}

describe('decode errors name the field, the byte offset and what was wrong', () => {
  const cases: [string, Buffer, string, string, number][] = [
    ['an empty frame', Buffer.alloc(0), 'ISO_TRUNCATED', 'MTI', 0],
    ['a frame shorter than the MTI', Buffer.from('01'), 'ISO_TRUNCATED', 'MTI', 2],
    ['a letter in the MTI', Buffer.from('01A0'), 'ISO_BAD_MTI', 'MTI', 0],
    ['a missing bitmap', Buffer.from('0100'), 'ISO_TRUNCATED', 'bitmap', 4],
    ['a missing secondary bitmap', Buffer.concat([Buffer.from('0100'), hex('8000000000000000')]), 'ISO_TRUNCATED', 'bitmap', 12],
    ['a non-decimal LL prefix', asciiFrame('4000000000000000', '1X4761'), 'ISO_BAD_LENGTH_PREFIX', 'DE 2', 20],
    ['a PAN longer than 19', asciiFrame('4000000000000000', '20' + '1'.repeat(20)), 'ISO_LENGTH_OUT_OF_RANGE', 'DE 2', 20],
    ['a PAN shorter than its minimum', asciiFrame('4000000000000000', '00'), 'ISO_LENGTH_OUT_OF_RANGE', 'DE 2', 20],
    ['a PAN cut short', asciiFrame('4000000000000000', '164761'), 'ISO_TRUNCATED', 'DE 2', 22],
    ['a letter in a numeric field', asciiFrame('2000000000000000', '00A000'), 'ISO_BAD_CONTENT', 'DE 3', 22],
    ['a control character in text', asciiFrame('0000000000800000', 'TERM\n042'), 'ISO_BAD_CONTENT', 'DE 41', 24],
    ['bytes after the last field', asciiFrame('2000000000000000', '000000XY'), 'ISO_TRAILING_BYTES', 'frame', 26],
    ['a BER-TLV length running past DE 55', asciiFrame('0000000000000200', Buffer.concat([Buffer.from('004'), hex('9F020600')])), 'ISO_BAD_COMPOSITE', 'DE 55', 26],
    ['an x+n without its C or D sign', asciiFrame('0000001000000000', '000000100'), 'ISO_BAD_CONTENT', 'DE 28', 20],
  ];
  for (const [what, frame, code, field, offset] of cases) {
    it(`${what}: ${code} at ${field}, byte ${offset}`, () => {
      const error = decodeError(ascii, frame);
      assert.deepEqual([error.code, error.field, error.offset], [code, field, offset]);
      assert.ok(error.reason.length > 0);
      assert.ok(error.message.includes(field));
    });
  }

  it('a bit for a field the dialect does not define is ISO_UNDEFINED_FIELD', () => {
    const one = loadDialectWith({ 3: { name: 'Processing code', content: 'n', encoding: 'ascii', length: 6 } });
    const frame = Buffer.concat([Buffer.from('0100'), hex('3000000000000000'), Buffer.from('000000')]);
    const error = decodeError(one, frame);
    assert.deepEqual([error.code, error.field, error.offset], ['ISO_UNDEFINED_FIELD', 'DE 4', 18]);
  });

  it('a frame over the dialect limit is refused before it is read', () => {
    const error = decodeError(visa, Buffer.alloc(visa.maxFrameBytes + 1));
    assert.deepEqual([error.code, error.field], ['ISO_FRAME_TOO_LONG', 'frame']);
  });

  it('an invalid hex bitmap character is ISO_BAD_BITMAP', () => {
    const hexBitmap = loadDialectWith({ 3: { name: 'Processing code', content: 'n', encoding: 'ascii', length: 6 } }, 'hex-ascii');
    const error = decodeError(hexBitmap, Buffer.from('01002G00000000000000000000'));
    assert.deepEqual([error.code, error.field, error.offset], ['ISO_BAD_BITMAP', 'bitmap', 4]);
  });

  it('a bad DE 48 subelement length in the Mastercard dialect is ISO_BAD_COMPOSITE', () => {
    const message = new IsoMessage('0100').set(48, 'R6103100');
    const frame = Buffer.from(encode(mastercard, message));
    frame[frame.length - 4] = 0xf9; // length "03" becomes "93"
    assert.equal(decodeError(mastercard, frame).code, 'ISO_BAD_COMPOSITE');
  });

  it('a BCD digit above 9 in a Visa numeric field is ISO_BAD_CONTENT', () => {
    const frame = Buffer.from(encode(visa, new IsoMessage('0100').set(4, '000000002599')));
    frame[10] = 0xa0;
    const error = decodeError(visa, frame);
    assert.deepEqual([error.code, error.field, error.offset], ['ISO_BAD_CONTENT', 'DE 4', 10]);
  });

  it('a value that is not a Buffer gives ISO_NOT_A_BUFFER rather than an exception', () => {
    const result = decode(ascii, 'not a buffer' as unknown as Buffer);
    assert.ok(result instanceof Iso8583DecodeError);
    assert.equal(result.code, 'ISO_NOT_A_BUFFER');
  });

  it('error text never includes the bad value', () => {
    const error = decodeError(ascii, asciiFrame('4000000000000000', `16${PAN.slice(0, 15)}X`));
    assert.equal(error.code, 'ISO_BAD_CONTENT');
    assert.ok(!error.message.includes(PAN.slice(0, 6)));
  });
});

function loadDialectWith(fields: Record<string, unknown>, bitmap = 'binary') {
  return compile({ name: 'small', modelledOn: ['test only'], maxFrameBytes: 256,
    mti: { encoding: 'ascii' }, bitmap: { encoding: bitmap, secondary: 'when-needed' }, fields });
}

function compile(spec: unknown) {
  return compileDialect(spec, 'small');
}

describe('encode errors name the field and the reason', () => {
  const cases: [string, IsoMessage, string, string][] = [
    ['a letter in a numeric field', new IsoMessage('0100').set(3, '00A000'), 'ISO_ENCODE_BAD_VALUE', 'DE 3'],
    ['a numeric value longer than its fixed length', new IsoMessage('0100').set(4, '1'.repeat(13)), 'ISO_ENCODE_BAD_LENGTH', 'DE 4'],
    ['a short value where the dialect does not pad', new IsoMessage('0110').set(39, '0'), 'ISO_ENCODE_BAD_LENGTH', 'DE 39'],
    ['a PAN over 19 digits', new IsoMessage('0100').set(2, '1'.repeat(20)), 'ISO_ENCODE_BAD_LENGTH', 'DE 2'],
    ['a Buffer for a text field', new IsoMessage('0100').set(41, Buffer.from('TERM0042')), 'ISO_ENCODE_BAD_VALUE', 'DE 41'],
    ['odd hex for a binary field', new IsoMessage('0100').set(52, '0123456789ABCDE'), 'ISO_ENCODE_BAD_VALUE', 'DE 52'],
    ['malformed BER-TLV in DE 55', new IsoMessage('0100').set(55, hex('9F0206')), 'ISO_ENCODE_BAD_VALUE', 'DE 55'],
    ['a field beyond 128 without a tertiary bitmap', new IsoMessage('0100').set(150, 'x'), 'ISO_ENCODE_UNDEFINED_FIELD', 'DE 150'],
    ['an MTI that is not four digits', new IsoMessage('100'), 'ISO_ENCODE_BAD_MTI', 'MTI'],
    ['a character outside latin1', new IsoMessage('0100').set(43, 'caf\u20ac'.padEnd(40)), 'ISO_ENCODE_BAD_VALUE', 'DE 43'],
    // Codes just outside each content's run of allowed ASCII codes, which the encoder admits
    // without a table lookup: the run's edges must be exact.
    ['a colon (one past 9) in a numeric field', new IsoMessage('0100').set(11, '00421:'), 'ISO_ENCODE_BAD_VALUE', 'DE 11'],
    ['a slash (one before 0) in a numeric field', new IsoMessage('0100').set(11, '/04217'), 'ISO_ENCODE_BAD_VALUE', 'DE 11'],
    ['DEL (0x7F) in an ans field', new IsoMessage('0100').set(41, 'TERM\u007f042'), 'ISO_ENCODE_BAD_VALUE', 'DE 41'],
    ['a control character in an ans field', new IsoMessage('0100').set(41, 'TERM\u001f042'), 'ISO_ENCODE_BAD_VALUE', 'DE 41'],
    ['a C1 control (0x85) in an ans field', new IsoMessage('0100').set(41, 'TERM\u0085042'), 'ISO_ENCODE_BAD_VALUE', 'DE 41'],
  ];
  for (const [what, message, code, field] of cases) {
    it(`${what}: ${code} for ${field}`, () => {
      assert.throws(() => encode(ascii, message), (err: unknown) =>
        err instanceof Iso8583EncodeError && err.code === code && err.field === field);
    });
  }

  it('a frame over the dialect limit is ISO_ENCODE_FRAME_TOO_LONG', () => {
    const message = new IsoMessage('0100');
    for (let de = 105; de <= 113; de++) message.set(de, 'x'.repeat(999));
    assert.throws(() => encode(ascii, message), (err: unknown) =>
      err instanceof Iso8583EncodeError && err.code === 'ISO_ENCODE_FRAME_TOO_LONG');
  });

  it('a latin1 letter outside ASCII is allowed in an ans field and survives the round trip', () => {
    const name = 'CAF\u00c9 M\u00dcLLER'.padEnd(22) + ' ' + 'Z\u00dcRICH'.padEnd(13) + ' CHE';
    const message = decoded(ascii, encode(ascii, new IsoMessage('0100').set(43, name)));
    assert.equal(message.getString(43), name);
  });

  it('fixed fields with padding are padded: n on the left with 0, ans on the right with spaces', () => {
    const message = decoded(ascii, encode(ascii, new IsoMessage('0100').set(4, '2599').set(41, 'T1')));
    assert.equal(message.getString(4), '000000002599');
    assert.equal(message.getString(41), 'T1      ');
  });
});

describe('encodeInto', () => {
  it('writes at the offset and returns the byte count', () => {
    const target = Buffer.alloc(512, 0xee);
    const written = encodeInto(ascii, authorisation(), target, 7);
    assert.deepEqual(target.subarray(7, 7 + written), encode(ascii, authorisation()));
    assert.equal(target[6], 0xee);
    assert.equal(target[7 + written], 0xee);
  });

  it('with room for the largest frame it writes in place: same bytes, nothing before the offset touched', () => {
    const offset = 5;
    const target = Buffer.alloc(offset + ascii.maxFrameBytes + 16, 0xee);
    const written = encodeInto(ascii, authorisation(), target, offset);
    assert.deepEqual(target.subarray(offset, offset + written), encode(ascii, authorisation()));
    assert.ok(target.subarray(0, offset).every((b) => b === 0xee));
    assert.ok(target.subarray(offset + written).every((b) => b === 0xee));
  });

  it('throws ISO_ENCODE_TARGET_TOO_SMALL without writing when the target is too small', () => {
    const target = Buffer.alloc(40, 0xee);
    assert.throws(() => encodeInto(ascii, authorisation(), target, 0), (err: unknown) =>
      err instanceof Iso8583EncodeError && err.code === 'ISO_ENCODE_TARGET_TOO_SMALL');
    assert.ok(target.every((b) => b === 0xee));
  });
});

describe('encode', () => {
  it('frames share slabs but never overlap: every frame kept stays intact as later ones are built', () => {
    const frames: Buffer[] = [];
    // Enough frames to fill several slabs, of varying size.
    for (let i = 0; i < 2000; i++) {
      const message = authorisation().set(11, String(i).padStart(6, '0'));
      if (i % 3 === 0) message.set(43, 'X'.repeat(22) + ' ' + 'Y'.repeat(13) + ' GBR');
      frames.push(encode(ascii, message));
    }
    frames.forEach((frame, i) => {
      assert.equal(decoded(ascii, frame).getString(11), String(i).padStart(6, '0'));
    });
    const bySlab = new Map<ArrayBufferLike, [number, number][]>();
    for (const frame of frames) {
      const ranges = bySlab.get(frame.buffer) ?? [];
      ranges.push([frame.byteOffset, frame.byteOffset + frame.length]);
      bySlab.set(frame.buffer, ranges);
    }
    assert.ok(bySlab.size > 1, 'the frames span more than one slab');
    for (const ranges of bySlab.values()) {
      ranges.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i]![0] >= ranges[i - 1]![1], 'frames overlap');
    }
  });

  it('a value that fails to encode leaves no frame behind: the next frame is whole', () => {
    assert.throws(() => encode(ascii, authorisation().set(41, 'TERM\u0000042')), Iso8583EncodeError);
    const frame = encode(ascii, authorisation());
    assert.equal(decoded(ascii, frame).getString(41), 'TERM0042');
  });
});

describe('decoded messages are views of the frame, converted lazily', () => {
  it('getBytes returns a view into the frame, not a copy', () => {
    const frame = encode(ascii, authorisation());
    const message = decoded(ascii, frame);
    const pan = message.getBytes(2)!;
    assert.equal(pan.buffer, frame.buffer);
    assert.equal(pan.toString('latin1'), PAN);
    assert.ok(pan.byteOffset >= frame.byteOffset && pan.byteOffset + pan.length <= frame.byteOffset + frame.length);
  });

  it('detach() copies every field so the frame can be reused', () => {
    const frame = Buffer.from(encode(ascii, authorisation()));
    const message = decoded(ascii, frame).detach();
    frame.fill(0x39);
    assert.deepEqual(fieldsOf(ascii, message), fieldsOf(ascii, authorisation()));
    assert.deepEqual(encode(ascii, message), encode(ascii, authorisation()));
  });

  it('set and delete on a decoded message override the frame, and the rest still reads from it', () => {
    const message = decoded(ascii, encode(ascii, authorisation()));
    message.set(39, '00').delete(52).set(4, '000000000100').delete(55);
    assert.equal(message.getString(39), '00');
    assert.equal(message.has(52), false);
    assert.equal(message.getBytes(52), undefined);
    assert.equal(message.getString(2), PAN);
    const back = decoded(ascii, encode(ascii, message));
    assert.deepEqual(back.presentFields(), [2, 3, 4, 11, 35, 39, 41, 49]);
    assert.equal(back.getString(4), '000000000100');
    message.set(52, hex('FFFFFFFFFFFFFFFF'));
    assert.equal(message.getString(52), 'FFFFFFFFFFFFFFFF');
  });

  it('a message decoded in one dialect encodes in another with the same field values', () => {
    const fromAscii = decoded(ascii, encode(ascii, authorisation()));
    for (const target of [mastercard, visa]) {
      const back = decoded(target, encode(target, fromAscii));
      assert.deepEqual(fieldsOf(target, back), fieldsOf(ascii, fromAscii));
    }
  });

  it('an echo shares its source frame: the kept fields are views of it and encode as the same bytes', () => {
    const frame = encode(ascii, authorisation());
    const request = decoded(ascii, frame);
    const echo = IsoMessage.echoing(request, '0110', presenceMask([2, 4, 11, 41]));
    assert.equal(echo.getBytes(2)!.buffer, frame.buffer);
    echo.set(39, '00').set(128, 'ABCDEF0123456789');
    const back = decoded(ascii, encode(ascii, echo));
    assert.deepEqual(back.presentFields(), [2, 4, 11, 39, 41, 128]);
    assert.equal(back.getString(128), 'ABCDEF0123456789');
    assert.equal(back.getString(2), PAN);
    assert.throws(() => presenceMask([1]), RangeError);
  });

  it('has/getString/getBytes answer undefined or false for absent or impossible field numbers', () => {
    const message = decoded(ascii, encode(ascii, authorisation()));
    for (const de of [0, 1, 5, 129, 193, 2.5, -1, Number.NaN]) {
      assert.equal(message.has(de), false);
      assert.equal(message.getString(de), undefined);
      assert.equal(message.getBytes(de), undefined);
    }
    assert.throws(() => message.set(1, 'x'), RangeError);
    assert.throws(() => message.set(193, 'x'), RangeError);
  });
});

describe('peekMtiAndStan', () => {
  it('finds the MTI and STAN of a frame whose later field is bad', () => {
    const frame = Buffer.from(encode(ascii, authorisation()));
    frame[frame.indexOf('TERM0042')] = 0x0a;
    assert.ok(decode(ascii, frame) instanceof Iso8583DecodeError);
    assert.deepEqual(peekMtiAndStan(ascii, frame), { mti: '0100', stan: '004217' });
  });

  it('finds them in BCD and EBCDIC dialects too', () => {
    for (const dialect of [mastercard, visa]) {
      const frame = encode(dialect, authorisation());
      assert.deepEqual(peekMtiAndStan(dialect, frame.subarray(0, frame.length - 2)), { mti: '0100', stan: '004217' });
    }
  });

  it('gives the MTI without a STAN when the STAN itself is bad, and undefined for garbage', () => {
    const frame = Buffer.from(encode(ascii, new IsoMessage('0800').set(11, '123456').set(70, '301')));
    frame[20] = 0x41;
    assert.deepEqual(peekMtiAndStan(ascii, frame), { mti: '0800', stan: undefined });
    assert.equal(peekMtiAndStan(ascii, Buffer.from('xx')), undefined);
    assert.equal(peekMtiAndStan(ascii, 42 as unknown as Buffer), undefined);
  });
});

describe('describeMasked', () => {
  it('shows the PAN as first 6 and last 4 with its length kept, and hides track, PIN and EMV data', () => {
    const message = decoded(ascii, encode(ascii, authorisation().set(48, 'R9203123').set(45, `B${PAN}^CARD/TEST^2712`)));
    const description = describeMasked(message);
    assert.equal(description['DE 2'], '476173******0119');
    assert.equal(description['DE 2']!.length, PAN.length);
    for (const de of [35, 45, 48, 52, 55]) assert.match(description[`DE ${de}`]!, /^\[hidden, \d+ bytes\]$/);
    assert.equal(description['DE 41'], 'TERM0042');
    assert.equal(description.MTI, '0100');
    const text = JSON.stringify(description);
    assert.ok(!text.includes(PAN.slice(6, 12)));
    assert.ok(!text.includes('0123456789'));
  });

  it('masks short PANs entirely', () => {
    assert.equal(maskPan('123456789012'), '************');
    assert.equal(maskPan('5413330089010434'), '541333******0434');
  });
});

describe('composite accessors', () => {
  it('Mastercard DE 48 parses into its TCC and subelements and builds back', () => {
    const parsed = parseMastercardDe48('R610310092031234232ABCDEFGHIJKLMNOPQRSTUVWXYZ012345');
    assert.ok(!(parsed instanceof Iso8583DecodeError));
    assert.equal(parsed.tcc, 'R');
    assert.deepEqual(parsed.subelements.map((s) => [s.tag, s.value]), [
      ['61', '100'], ['92', '123'], ['42', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'],
    ]);
    assert.equal(encodeMastercardDe48(parsed), 'R610310092031234232ABCDEFGHIJKLMNOPQRSTUVWXYZ012345');
  });

  it('a truncated DE 48 subelement is an error with its offset, not an exception', () => {
    const parsed = parseMastercardDe48('R610510');
    assert.ok(parsed instanceof Iso8583DecodeError);
    assert.deepEqual([parsed.code, parsed.field, parsed.offset], ['ISO_BAD_COMPOSITE', 'DE 48', 5]);
  });

  it('EMV TLV with a truncated value, a cut-off tag or an indefinite length is an error', () => {
    for (const bad of ['9F0206000000', '9F', '9F0280', '5F3484']) {
      const parsed = parseEmvTlv(hex(bad));
      assert.ok(parsed instanceof Iso8583DecodeError, bad);
      assert.equal(parsed.code, 'ISO_BAD_COMPOSITE');
    }
  });

  it('DE 90 splits into original MTI, STAN, DE 7, acquirer and forwarder, and builds back', () => {
    const de90 = '0100004217070211301500000012345000000000000';
    assert.equal(de90.length, 43);
    const value = de90.slice(0, 42);
    const parts = parseOriginalDataElements(value);
    assert.deepEqual(parts, {
      originalMti: '0100', originalStan: '004217', originalTransmissionDateTime: '0702113015',
      acquiringInstitutionId: '00000012345', forwardingInstitutionId: '00000000000',
    });
    assert.equal(encodeOriginalDataElements({ ...parts!, acquiringInstitutionId: '12345', forwardingInstitutionId: '' }), value);
    assert.equal(parseOriginalDataElements('0100'), undefined);
  });

  it('DE 95 subfields follow the dialect: ISO fees in ascii, cardholder billing in Mastercard', () => {
    const iso = readSubfields(ascii, 95, '000000001000000000001000C00000000D00000000');
    assert.deepEqual(iso, {
      actualAmountTransaction: '000000001000', actualAmountSettlement: '000000001000',
      actualAmountTransactionFee: 'C00000000', actualAmountSettlementFee: 'D00000000',
    });
    const mc = { actualAmountTransaction: '000000000500', actualAmountSettlement: '000000000600',
      actualAmountCardholderBilling: '000000000700', zeroFill: '000000' };
    const text = writeSubfields(mastercard, 95, mc);
    assert.equal(text, '000000000500000000000600000000000700000000');
    assert.deepEqual(readSubfields(mastercard, 95, text), mc);
    assert.throws(() => writeSubfields(mastercard, 95, { ...mc, zeroFill: '0' }), RangeError);
    assert.equal(readSubfields(ascii, 4, '000000000100'), undefined);
  });

  it('network management fields are listed for the link', () => {
    assert.deepEqual([...NETWORK_MANAGEMENT_FIELDS], [7, 11, 70]);
  });
});
