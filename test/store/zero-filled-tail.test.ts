import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ZeroFilledTail, dataEndOf } from '../../src/store/zero-filled-tail';
import { DurableAppender } from '../../src/store/durable-append';
import { FileDecisionLog } from '../../src/store/file-decision-log';
import type { DecisionRecord } from '../../src/authorise/decision-log';

function tempPath(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'zero-tail-')), name);
}

function dataEndOfFile(content: Buffer): number {
  const path = tempPath('log');
  writeFileSync(path, content);
  const fd = openSync(path, 'r');
  try {
    return dataEndOf(fd);
  } finally {
    closeSync(fd);
  }
}

function record(i: number): DecisionRecord {
  return {
    decisionId: `d-${i}`, idempotencyKey: `10:1:${String(i).padStart(6, '0')}:1126120000`, kind: 'authorisation',
    mti: '0100', accountId: 'acct-1', cardId: 'card-1', panHash: 'h', panMasked: '555555******4444', responseCode: '00',
    approvalCode: 'ABC123', requestedMinor: i, approvedMinor: i, currency: '826', holdId: `hold-${i}`, originalKey: '',
    stan: String(i).padStart(6, '0'), rrn: '', transmissionDateTime: '1126120000', acquirerId: '1', standIn: false,
    overdrawn: false, receivedAtMs: i, decidedAtMs: i, shard: 0, fencingToken: 1,
  };
}

const lineOf = (i: number): string => `${JSON.stringify(record(i))}\n`;

async function until(what: string, check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 5) {
    if (waited > 10_000) assert.fail(`${what} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('the data ends after the last non-zero byte, however long the zeros after it', () => {
  assert.equal(dataEndOfFile(Buffer.alloc(0)), 0, 'an empty file');
  assert.equal(dataEndOfFile(Buffer.alloc(4096)), 0, 'only zeros');
  assert.equal(dataEndOfFile(Buffer.from('abc\n')), 4, 'no zeros');
  // Past the 1 MiB the scan reads at a time, so the data is found in an earlier step.
  assert.equal(dataEndOfFile(Buffer.concat([Buffer.from('abc\n'), Buffer.alloc(3 * 1024 * 1024 + 17)])), 4);
  // A crash can leave unwritten blocks inside the last batch: the end is after the data beyond them.
  assert.equal(dataEndOfFile(Buffer.concat([Buffer.from('ab'), Buffer.alloc(100), Buffer.from('cd\n'), Buffer.alloc(50)])), 105);
});

test('a chunk of zeros starts past the guard, refuses batches over its range while written, and is on disk after', async () => {
  const path = tempPath('log');
  writeFileSync(path, 'x'.repeat(100));
  const done: (Error | undefined)[] = [];
  const tail = new ZeroFilledTail(path, 100, { aheadBytes: 10_000, chunkBytes: 8192, guardBytes: 1000, onChunkDone: (error) => done.push(error) });
  try {
    assert.equal(tail.readyPast(100), 0);
    tail.keepAhead(100);
    assert.equal(tail.busy, true);
    // The chunk is [1100, 9292): batches below it go, batches over it wait.
    assert.equal(tail.mayWrite(100, 1100), true, 'a batch inside the guard');
    assert.equal(tail.mayWrite(100, 1101), false, 'a batch reaching into the chunk');
    assert.equal(tail.mayWrite(5000, 5100), false, 'a batch inside the chunk');
    assert.equal(tail.mayWrite(9292, 9400), true, 'a batch past the chunk');
    tail.keepAhead(100);
    await until('the chunk written', () => !tail.busy);
    assert.deepEqual(done, [undefined]);
    assert.equal(tail.readyPast(100), 9192);
    assert.equal(tail.mayWrite(100, 9400), true, 'nothing refused once the chunk is done');
    const file = readFileSync(path);
    assert.equal(file.length, 9292);
    assert.equal(file.subarray(0, 100).toString('latin1'), 'x'.repeat(100), 'the data before the guard untouched');
    assert.equal(file.subarray(100).every((byte) => byte === 0), true, 'zeros (a hole in the guard, then the chunk)');
    // 9,192 ready past 100 is under aheadBytes: the next chunk follows straight on from the last.
    tail.keepAhead(100);
    await until('the second chunk', () => !tail.busy);
    assert.equal(statSync(path).size, 9292 + 8192);
    // Enough ready now: no third chunk.
    tail.keepAhead(100);
    assert.equal(tail.busy, false);
  } finally {
    await tail.close();
  }
  assert.equal(done.length, 2);
});

test('close waits for the chunk being written, and no chunk starts after it', async () => {
  const path = tempPath('log');
  writeFileSync(path, '');
  const tail = new ZeroFilledTail(path, 0, { aheadBytes: 1, chunkBytes: 4 * 1024 * 1024, guardBytes: 0, onChunkDone: () => undefined });
  tail.keepAhead(0);
  await tail.close();
  assert.equal(tail.busy, false);
  assert.equal(statSync(path).size, 4 * 1024 * 1024);
  tail.keepAhead(0);
  assert.equal(tail.busy, false);
  rmSync(path);
});

test('the open log keeps zeros ahead of its data, and close cuts them off: plain JSON lines at rest', async () => {
  const path = tempPath('decisions.jsonl');
  const log = new FileDecisionLog({ path, recentPerCard: 10, maxKeys: 100, tail: { aheadBytes: 64 * 1024, chunkBytes: 64 * 1024, guardBytes: 4096 } });
  for (let i = 0; i < 20; i++) await log.append(record(i));
  const expected = Array.from({ length: 20 }, (_, i) => lineOf(i)).join('');
  await until('the zero-filled tail', () => statSync(path).size > expected.length + 4096);
  const open = readFileSync(path);
  assert.equal(open.subarray(0, expected.length).toString('utf8'), expected);
  assert.equal(open.subarray(expected.length).every((byte) => byte === 0), true);
  await log.close();
  assert.equal(readFileSync(path, 'utf8'), expected);
});

test('after a crash the zeros are read past: records kept, the next one written right after the last', async () => {
  const path = tempPath('decisions.jsonl');
  // What a crash leaves: whole records, a torn line (a batch cut short), then the tail's zeros.
  writeFileSync(path, Buffer.concat([Buffer.from(lineOf(1) + lineOf(2) + '{"decisionId":"to'), Buffer.alloc(200_000)]));
  const log = new FileDecisionLog({ path, recentPerCard: 10, maxKeys: 100 });
  assert.equal(log.recordCount, 2);
  assert.equal((await log.findByIdempotencyKey(record(2).idempotencyKey))?.approvedMinor, 2);
  await log.append(record(3));
  await log.close();
  assert.equal(readFileSync(path, 'utf8'), `${lineOf(1)}${lineOf(2)}{"decisionId":"to\n${lineOf(3)}`);
  const reopened = new FileDecisionLog({ path, recentPerCard: 10, maxKeys: 100 });
  assert.equal(reopened.recordCount, 3);
  await reopened.close();
});

test('no batch is handed to the writer over a chunk of zeros being written; those batches wait, then land whole', async () => {
  const path = tempPath('decisions.jsonl');
  // Watch both sides: the chunk each tail is writing, and every range submitted to the writer.
  const chunks = new Map<ZeroFilledTail, { start: number; end: number }>();
  const overlaps: string[] = [];
  let submitted = 0;
  let refused = 0;
  const originalKeepAhead = ZeroFilledTail.prototype.keepAhead;
  const originalMayWrite = ZeroFilledTail.prototype.mayWrite;
  const originalSubmit = DurableAppender.prototype.submit;
  ZeroFilledTail.prototype.keepAhead = function (this: ZeroFilledTail, writeEnd: number): void {
    originalKeepAhead.call(this, writeEnd);
    const filling = (this as unknown as { filling?: { start: number; end: number } }).filling;
    if (filling !== undefined) chunks.set(this, { start: filling.start, end: filling.end });
  };
  ZeroFilledTail.prototype.mayWrite = function (this: ZeroFilledTail, start: number, end: number): boolean {
    const allowed = originalMayWrite.call(this, start, end);
    if (!allowed) refused++;
    return allowed;
  };
  DurableAppender.prototype.submit = function (this: DurableAppender, offset: number, length: number, position: number): void {
    submitted++;
    for (const [tail, chunk] of chunks) {
      if (tail.busy && position < chunk.end && position + length > chunk.start) {
        overlaps.push(`[${position}, ${position + length}) over zeros [${chunk.start}, ${chunk.end})`);
      }
    }
    originalSubmit.call(this, offset, length, position);
  };
  try {
    // No guard and small chunks: a chunk starts where the next batch goes, so batches keep waiting.
    const log = new FileDecisionLog({ path, recentPerCard: 10, maxKeys: 10_000, tail: { aheadBytes: 8192, chunkBytes: 4096, guardBytes: 0 } });
    const appends: Promise<void>[] = [];
    for (let i = 0; i < 2000; i++) {
      appends.push(log.append(record(i)));
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(appends);
    await log.close();
  } finally {
    ZeroFilledTail.prototype.keepAhead = originalKeepAhead;
    ZeroFilledTail.prototype.mayWrite = originalMayWrite;
    DurableAppender.prototype.submit = originalSubmit;
  }
  assert.deepEqual(overlaps, [], 'batches written over zeros still being written');
  assert.ok(refused > 0, 'some batches had to wait for a chunk (else this test shows nothing)');
  assert.ok(submitted > 1);
  assert.equal(readFileSync(path, 'utf8'), Array.from({ length: 2000 }, (_, i) => lineOf(i)).join(''));
  rmSync(path);
});

test('a chunk that cannot be written ends the preparing and is reported once; batches are still allowed', async () => {
  // /dev/full refuses every write with ENOSPC, as a full disk would.
  const reported: (Error | undefined)[] = [];
  const tail = new ZeroFilledTail('/dev/full', 0, { aheadBytes: 4096, chunkBytes: 4096, guardBytes: 0, onChunkDone: (error) => reported.push(error) });
  tail.keepAhead(0);
  await until('the chunk to fail', () => !tail.busy);
  assert.equal(reported.length, 1);
  assert.match(String(reported[0]), /ENOSPC/);
  assert.equal(tail.failed, reported[0]);
  tail.keepAhead(0);
  assert.equal(tail.busy, false, 'no further chunk after a failure');
  assert.equal(tail.mayWrite(0, 1_000_000), true);
  await tail.close();
});
