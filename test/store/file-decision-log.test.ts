import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { FileDecisionLog } from '../../src/store/file-decision-log';
import type { DecisionRecord } from '../../src/authorise/decision-log';

function record(i: number, cardId = 'card-1'): DecisionRecord {
  return {
    decisionId: `d-${i}`, idempotencyKey: `10:1:${String(i).padStart(6, '0')}:1126120000`, kind: 'authorisation',
    mti: '0100', accountId: 'acct-1', cardId, panHash: 'h', panMasked: '555555******4444', responseCode: '00',
    approvalCode: 'ABC123', requestedMinor: i, approvedMinor: i, currency: '826', holdId: `hold-${i}`, originalKey: '',
    stan: String(i).padStart(6, '0'), rrn: '', transmissionDateTime: '1126120000', acquirerId: '1', standIn: false,
    overdrawn: false, receivedAtMs: i, decidedAtMs: i, shard: 0, fencingToken: 1,
  };
}

const options = (path: string) => ({ path, recentPerCard: 50, maxKeys: 10_000 });

test('concurrent appends are all durable when they resolve, and a restart finds them again', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'decision-log-')), 'decisions.jsonl');
  const log = new FileDecisionLog(options(path));
  await Promise.all(Array.from({ length: 1000 }, (_, i) => log.append(record(i))));
  assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 1000, 'every record is in the file');
  await log.close();
  const reopened = new FileDecisionLog(options(path));
  assert.equal((await reopened.findByIdempotencyKey(record(777).idempotencyKey))?.approvedMinor, 777);
  const recent = await reopened.recentForCard('card-1', 3);
  assert.equal(recent.length, 3);
  assert.ok(recent[0]!.decidedAtMs >= recent[1]!.decidedAtMs, 'newest first');
  await reopened.close();
});

test('each batch on disk reports how long its write took in the writer thread; a failed one does not', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'decision-log-')), 'decisions.jsonl');
  const writeSeconds: number[] = [];
  const log = new FileDecisionLog({ ...options(path), onBatchWritten: (seconds) => writeSeconds.push(seconds) });
  for (let i = 0; i < 3; i++) await log.append(record(i));
  assert.equal(writeSeconds.length, 3, 'one batch per append awaited alone');
  for (const seconds of writeSeconds) assert.ok(seconds > 0 && seconds < 10, `${seconds} s`);
  await log.close();
  const failed: number[] = [];
  const full = new FileDecisionLog({ ...options('/dev/full'), onBatchWritten: (seconds) => failed.push(seconds) });
  await assert.rejects(full.append(record(9)), /ENOSPC/);
  assert.deepEqual(failed, []);
  await full.close();
});

test('past maxKeys the least recently used key is forgotten, a key read since is kept, and 0 keeps none', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'decision-log-')), 'decisions.jsonl');
  const log = new FileDecisionLog({ path, recentPerCard: 50, maxKeys: 3 });
  for (let i = 0; i < 3; i++) await log.append(record(i));
  assert.ok(await log.findByIdempotencyKey(record(0).idempotencyKey), 'read: now the most recently used');
  await log.append(record(3));
  await log.append(record(4));
  const kept = [];
  for (let i = 0; i < 5; i++) if (await log.findByIdempotencyKey(record(i).idempotencyKey)) kept.push(i);
  assert.deepEqual(kept, [0, 3, 4]);
  assert.equal(log.recordCount, 3);
  await log.close();
  const none = new FileDecisionLog({ path, recentPerCard: 50, maxKeys: 0 });
  assert.equal(await none.findByIdempotencyKey(record(4).idempotencyKey), undefined);
  assert.equal(none.recordCount, 0);
  assert.equal((await none.recentForCard('card-1', 10)).length, 5, 'the per-card list is kept apart from the keys');
  await none.close();
});

test('on start the file is read back in chunks: lines cut by a chunk, text outside ASCII and a torn last line', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'decision-log-')), 'decisions.jsonl');
  const log = new FileDecisionLog(options(path));
  // Three- and four-byte UTF-8 characters, so some fall across a 37-byte chunk's edge.
  const records = Array.from({ length: 40 }, (_, i) => ({ ...record(i), acquirerId: `\u6771\u4eac \u{1F6D2} ${i}` }));
  for (const each of records) await log.append(each);
  await log.close();
  appendFileSync(path, '{"decisionId":"torn');
  const reopened = new FileDecisionLog({ ...options(path), loadChunkBytes: 37 });
  assert.equal(reopened.recordCount, 40);
  for (const each of records) assert.deepEqual(await reopened.findByIdempotencyKey(each.idempotencyKey), each);
  assert.deepEqual((await reopened.recentForCard('card-1', 2)).map((each) => each.approvedMinor), [39, 38]);
  await reopened.append(record(40));
  await reopened.close();
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines[40], '{"decisionId":"torn', 'the torn line is left as it was, and ended');
  assert.deepEqual(JSON.parse(lines[41]!), record(40), 'the next record starts on a line of its own');
});

test('on start a line longer than any record the log writes is skipped, and the records after it are read', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'decision-log-')), 'decisions.jsonl');
  writeFileSync(path, `${JSON.stringify(record(1))}\n${'x'.repeat(1536 * 1024)}\n${JSON.stringify(record(2))}\n`);
  const reopened = new FileDecisionLog({ ...options(path), loadChunkBytes: 64 * 1024 });
  assert.equal(reopened.recordCount, 2);
  assert.equal((await reopened.findByIdempotencyKey(record(2).idempotencyKey))?.approvedMinor, 2);
  await reopened.close();
  assert.throws(() => new FileDecisionLog({ ...options(path), loadChunkBytes: 0 }), /chunkBytes must be 1 or more/);
});

test('a decision log larger than the longest string V8 can hold (512 MiB) is read back on start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decision-log-'));
  const path = join(dir, 'decisions.jsonl');
  try {
    // 600-byte filler per line: 530 MiB in about 880,000 lines, written in 8 MiB blocks.
    const line = `${JSON.stringify({ ...record(0), acquirerId: 'x'.repeat(600) })}\n`;
    const block = Buffer.from(line.repeat(Math.floor((8 * 1024 * 1024) / line.length)));
    const fd = openSync(path, 'w');
    let written = 0;
    while (written < 530 * 1024 * 1024) written += writeSync(fd, block);
    writeSync(fd, `${JSON.stringify(record(1))}\n`);
    closeSync(fd);
    const reopened = new FileDecisionLog(options(path));
    assert.equal((await reopened.findByIdempotencyKey(record(1).idempotencyKey))?.approvedMinor, 1, 'the last record');
    assert.equal(reopened.recordCount, 2, 'the filler lines all share record 0\'s key');
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('appends spread over many turns, while batches are being written, are each on disk when they resolve', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'decision-log-')), 'decisions.jsonl');
  const log = new FileDecisionLog(options(path));
  const notOnDiskWhenResolved: string[] = [];
  const appends: Promise<void>[] = [];
  for (let i = 0; i < 300; i++) {
    const each = record(i);
    appends.push(log.append(each).then(() => {
      if (!readFileSync(path, 'utf8').includes(`"${each.idempotencyKey}"`)) notOnDiskWhenResolved.push(each.idempotencyKey);
    }));
    if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  // close() right away: it must wait for the batch in flight and write the rest.
  await log.close();
  await Promise.all(appends);
  assert.deepEqual(notOnDiskWhenResolved, []);
  assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 300);
});

test('records with text outside ASCII are written whole in a batch far larger than the write buffer', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'decision-log-')), 'decisions.jsonl');
  const log = new FileDecisionLog(options(path));
  // Latin-1 letters (two UTF-8 bytes), a CJK letter (three) and a surrogate pair (four bytes).
  const names = ['Caf\u00e9 \u00d6st', '\u6771\u4eac', 'Shop \u{1F6D2}'];
  const records = Array.from({ length: 3000 }, (_, i) => ({ ...record(i), acquirerId: `${names[i % 3]}${'x'.repeat(i % 50)}` }));
  await Promise.all(records.map((each) => log.append(each)));
  await log.close();
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  assert.equal(lines.length, records.length);
  assert.deepEqual(lines.map((line) => JSON.parse(line) as DecisionRecord), records);
});

test('a torn last line (a crash mid-write) is skipped on restart; every whole record is kept', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'decision-log-')), 'decisions.jsonl');
  const log = new FileDecisionLog(options(path));
  await log.append(record(1));
  await log.append(record(2));
  await log.close();
  appendFileSync(path, '{"decisionId":"d-3","idempo');
  const reopened = new FileDecisionLog(options(path));
  assert.equal(reopened.recordCount, 2);
  assert.ok(await reopened.findByIdempotencyKey(record(2).idempotencyKey));
  await reopened.append(record(4));
  await reopened.close();
  const again = new FileDecisionLog(options(path));
  assert.ok(await again.findByIdempotencyKey(record(4).idempotencyKey), 'a record after the torn line survives');
  assert.equal(again.recordCount, 3);
  await again.close();
});

test('an append after close rejects instead of being silently lost', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'decision-log-')), 'decisions.jsonl');
  const log = new FileDecisionLog(options(path));
  await log.close();
  await assert.rejects(log.append(record(1)));
});

test('close() writes appends still queued in this turn, and they resolve as durable', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'decision-log-')), 'decisions.jsonl');
  const log = new FileDecisionLog(options(path));
  const pending = [log.append(record(1)), log.append(record(2))];
  await log.close();
  await Promise.all(pending);
  assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 2);
});

test('a batch whose write fails rejects every append in it: no decision resolves unless on disk', async (t) => {
  if (!existsSync('/dev/full')) {
    t.diagnostic('/dev/full is missing on this machine');
    assert.fail('/dev/full is needed to make the write fail (ENOSPC)');
  }
  // Writes to /dev/full always fail with ENOSPC, as a full disk would.
  const log = new FileDecisionLog(options('/dev/full'));
  const results = await Promise.allSettled([log.append(record(1)), log.append(record(2))]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  assert.match(String((results[0] as PromiseRejectedResult).reason), /ENOSPC/);
  assert.equal(await log.findByIdempotencyKey(record(1).idempotencyKey), undefined, 'a failed record is not indexed');
  await log.close();
});

/**
 * A writer thread speaking durable-append-protocol.ts (slots 0-5) whose first FAILING_BATCHES writes
 * fail: the first after writing 12 bytes (a torn line), the others before writing anything.
 */
const failingWriterThread = (failingBatches: number): string => `
const FAILING_BATCHES = ${failingBatches};
const { writeSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
const control = new Int32Array(workerData.control);
const bytes = new Uint8Array(workerData.batches);
let handled = 0;
for (;;) {
  Atomics.wait(control, 0, handled);
  if (Atomics.load(control, 5) === 1) break;
  const seq = Atomics.load(control, 0), start = Atomics.load(control, 1), length = Atomics.load(control, 2);
  let errno = 0;
  if (seq === 1) { writeSync(workerData.fd, bytes, start, 12); errno = -28; }
  else if (seq <= FAILING_BATCHES) errno = -28;
  else for (let written = 0; written < length;) written += writeSync(workerData.fd, bytes, start + written, length - written);
  Atomics.store(control, 4, errno);
  Atomics.store(control, 3, seq);
  Atomics.notify(control, 3);
  handled = seq;
}
`;

test('after a write that failed part-way, the next batch starts on a fresh line and survives a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decision-log-'));
  const path = join(dir, 'decisions.jsonl');
  const script = join(dir, 'torn-writer.js');
  writeFileSync(script, failingWriterThread(1));
  const log = new FileDecisionLog({ ...options(path), writerThreadScript: script });
  await assert.rejects(log.append(record(1)), /ENOSPC/);
  await log.append(record(2));
  await log.close();
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines[0]!.length, 12, 'the torn fragment of the failed write');
  assert.deepEqual(JSON.parse(lines[1]!), record(2), 'the next record on a line of its own');
  const reopened = new FileDecisionLog(options(path));
  assert.equal(await reopened.findByIdempotencyKey(record(1).idempotencyKey), undefined);
  assert.equal((await reopened.findByIdempotencyKey(record(2).idempotencyKey))?.approvedMinor, 2);
  await reopened.close();
});

test('three failed writes in a row make the log report itself unwritable until a write succeeds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decision-log-'));
  const script = join(dir, 'failing-writer.js');
  writeFileSync(script, failingWriterThread(3));
  const log = new FileDecisionLog({ ...options(join(dir, 'decisions.jsonl')), writerThreadScript: script });
  assert.equal(log.writable, true);
  for (let i = 1; i <= 3; i++) await assert.rejects(log.append(record(i)), /ENOSPC/);
  assert.equal(log.writable, false, 'after three failed batches');
  await log.append(record(4));
  assert.equal(log.writable, true, 'a write that succeeds makes it writable again');
  await log.close();
});

test('records too large for the write buffer are refused, one after another, and the next one is written', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'decision-log-')), 'decisions.jsonl');
  const log = new FileDecisionLog(options(path));
  const huge = (i: number): DecisionRecord => ({ ...record(i), acquirerId: 'x'.repeat(400_000) });
  const results = await Promise.allSettled([log.append(huge(1)), log.append(huge(2)), log.append(record(3))]);
  assert.deepEqual(results.map((result) => result.status), ['rejected', 'rejected', 'fulfilled']);
  await log.close();
  assert.deepEqual(readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as DecisionRecord), [record(3)]);
});
