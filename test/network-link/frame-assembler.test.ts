import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FRAMING_KINDS, FramingKind, framingFor, INVALID_LENGTH } from '../../src/network-link/framing';
import { FrameAssembler, KEEP_ALIVE_FRAME } from '../../src/network-link/frame-assembler';

function frameBytes(kind: FramingKind, body: Buffer): Buffer {
  const framing = framingFor(kind);
  const out = Buffer.alloc(framing.lengthFieldBytes + body.length);
  framing.writeLength(out, 0, body.length);
  body.copy(out, framing.lengthFieldBytes);
  return out;
}

function drain(assembler: FrameAssembler): Buffer[] {
  const frames: Buffer[] = [];
  for (let frame = assembler.nextFrame(); frame !== undefined; frame = assembler.nextFrame()) {
    frames.push(Buffer.from(frame));
  }
  return frames;
}

const lengthFieldCases: Array<[FramingKind, number, string]> = [
  ['binary2', 0x1234, '1234'],
  ['binary2', 5, '0005'],
  ['bcd2', 1234, '1234'],
  ['bcd2', 87, '0087'],
  ['ascii4', 512, '30353132'],
  ['ascii4', 9999, '39393939'],
  ['vml4', 300, '012c0000'],
];

for (const [kind, length, hex] of lengthFieldCases) {
  test(`${kind} writes length ${length} as ${hex} and reads it back`, () => {
    const framing = framingFor(kind);
    const field = Buffer.alloc(framing.lengthFieldBytes);
    framing.writeLength(field, 0, length);
    assert.equal(field.toString('hex'), hex);
    assert.equal(framing.readLength(Buffer.from(hex, 'hex'), 0), length);
  });
}

test('malformed length fields read as invalid: BCD nibble above 9, ASCII non-digit, VML reserved bytes', () => {
  assert.equal(framingFor('bcd2').readLength(Buffer.from('0a12', 'hex'), 0), INVALID_LENGTH);
  assert.equal(framingFor('ascii4').readLength(Buffer.from('01x2'), 0), INVALID_LENGTH);
  assert.equal(framingFor('vml4').readLength(Buffer.from('00100001', 'hex'), 0), INVALID_LENGTH);
});

for (const kind of FRAMING_KINDS) {
  test(`${kind}: frames split and coalesced at random points are reassembled exactly`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 40 }),
        (bodies, cuts) => {
          const stream = Buffer.concat(bodies.map((body) => frameBytes(kind, Buffer.from(body))));
          const assembler = new FrameAssembler(framingFor(kind), 1000);
          const received: Buffer[] = [];
          let offset = 0;
          let cutIndex = 0;
          while (offset < stream.length) {
            const size = cuts[cutIndex++ % cuts.length]!;
            assembler.append(stream.subarray(offset, offset + size));
            offset += size;
            received.push(...drain(assembler));
          }
          assert.equal(assembler.failure, 'none');
          assert.equal(assembler.isMidFrame(), false);
          assert.deepEqual(received.map((frame) => frame.toString('hex')), bodies.map((body) => Buffer.from(body).toString('hex')));
        },
      ),
      { numRuns: 150 },
    );
  });
}

test('a frame inside one chunk is returned as a view into that chunk, not a copy', () => {
  const chunk = frameBytes('binary2', Buffer.from('0800abc'));
  const assembler = new FrameAssembler(framingFor('binary2'), 100);
  assembler.append(chunk);
  const frame = assembler.nextFrame()!;
  assert.equal(frame.buffer, chunk.buffer);
  assert.equal(frame.toString(), '0800abc');
});

test('the caller may stop mid-chunk and resume later from the same frame', () => {
  const chunk = Buffer.concat([frameBytes('binary2', Buffer.from('one')), frameBytes('binary2', Buffer.from('two'))]);
  const assembler = new FrameAssembler(framingFor('binary2'), 100);
  assembler.append(chunk);
  assert.equal(assembler.nextFrame()!.toString(), 'one');
  assert.equal(assembler.hasUnreadBytes(), true);
  assert.equal(assembler.nextFrame()!.toString(), 'two');
  assert.equal(assembler.hasUnreadBytes(), false);
  assert.equal(assembler.nextFrame(), undefined);
});

test('a length above the maximum fails the stream and yields no more frames', () => {
  const assembler = new FrameAssembler(framingFor('binary2'), 100);
  assembler.append(Buffer.concat([Buffer.from('0065', 'hex'), Buffer.alloc(101)]));
  assert.equal(assembler.nextFrame(), undefined);
  assert.equal(assembler.failure, 'frame_too_large');
  assert.equal(assembler.rejectedLength, 101);
  assembler.append(frameBytes('binary2', Buffer.from('ok')));
  assert.equal(assembler.nextFrame(), undefined);
});

test('a zero-length frame comes back as the keep-alive marker in every framing', () => {
  for (const kind of FRAMING_KINDS) {
    const assembler = new FrameAssembler(framingFor(kind), 100);
    assembler.append(frameBytes(kind, Buffer.alloc(0)));
    assert.equal(assembler.nextFrame(), KEEP_ALIVE_FRAME, kind);
  }
});
