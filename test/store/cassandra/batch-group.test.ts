// Group commit of the decision log's hot batches, against a recording writer (the Cassandra side is
// covered by decision-log.test.ts): what one turn submits leaves together, decisions queue only while
// the in-flight limit is reached and then leave as one batch, the size limits split groups, a failed
// batch fails exactly its own decisions (or, refused for good, sends them again one by one), and a
// decision queued past its bound, or abandoned by its caller's timer, is never sent.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BatchGroup, QueuedPastBoundError, type AppendBound, type BatchGroupLimits } from '../../../src/store/cassandra/batch-group';
import type { StatementRow } from '../../../src/store/cassandra/movement-rows';

/** A writer whose batches complete when the test says so. */
class RecordingWriter {
  readonly batches: string[][] = [];
  private readonly pending: { resolve: () => void; reject: (error: Error) => void }[] = [];

  readonly write = (rows: StatementRow[]): Promise<unknown> => {
    this.batches.push(rows.map((row) => String(row.params[0])));
    return new Promise<void>((resolve, reject) => { this.pending.push({ resolve, reject }); });
  };

  complete(index: number): void {
    this.pending[index]?.resolve();
  }

  fail(index: number, error: Error): void {
    this.pending[index]?.reject(error);
  }
}

function rowsOf(decision: string, count = 2): StatementRow[] {
  return Array.from({ length: count }, (_, index) => ({ query: `INSERT ${index}`, params: [decision] }));
}

/** Two batches in flight, room for 16 decisions of 128 rows: what most cases here need. */
function groupOf(writer: RecordingWriter['write'], limits: Partial<BatchGroupLimits> = {},
  refusedForGood?: (error: unknown) => boolean): BatchGroup {
  return new BatchGroup(writer, { batchesInFlight: 2, decisionsPerBatch: 16, rowsPerBatch: 128, ...limits }, refusedForGood);
}

const later = (): AppendBound => ({ sendByMs: performance.now() + 60_000, abandoned: false });

describe('BatchGroup', () => {
  it('sends what one turn submitted as one batch at the end of the turn, and resolves each on acknowledgement', async () => {
    const writer = new RecordingWriter();
    const group = groupOf(writer.write);
    const settled: string[] = [];
    const first = group.submit(rowsOf('a'), later()).then(() => settled.push('a'));
    const second = group.submit(rowsOf('b'), later()).then(() => settled.push('b'));
    assert.equal(writer.batches.length, 0, 'nothing leaves before the turn ends');
    await nextTurn();
    assert.deepEqual(writer.batches, [['a', 'a', 'b', 'b']]);
    assert.deepEqual(settled, []);
    writer.complete(0);
    await Promise.all([first, second]);
    assert.deepEqual(settled, ['a', 'b']);
    assert.deepEqual(group.written, { batches: 1, decisions: 2 });
  });

  it('queues decisions only while the in-flight limit is reached, then sends them together as soon as a batch completes', async () => {
    const writer = new RecordingWriter();
    const group = groupOf(writer.write);
    const done: Promise<void>[] = [];
    done.push(group.submit(rowsOf('a'), later()));
    await nextTurn();
    done.push(group.submit(rowsOf('b'), later()));
    await nextTurn();
    assert.deepEqual(writer.batches, [['a', 'a'], ['b', 'b']], 'a second batch goes while one is in flight');
    for (const decision of ['c', 'd', 'e']) done.push(group.submit(rowsOf(decision), later()));
    await nextTurn();
    assert.equal(writer.batches.length, 2, 'two in flight: the third waits');
    assert.equal(group.queued, 3);
    writer.complete(0);
    await done[0];
    await nextTurn();
    assert.deepEqual(writer.batches[2], ['c', 'c', 'd', 'd', 'e', 'e']);
    writer.complete(1);
    writer.complete(2);
    await Promise.all(done);
    assert.deepEqual(group.written, { batches: 3, decisions: 5 });
  });

  it('splits a group at the decision and row limits, never splitting one decision\'s rows', async () => {
    const writer = new RecordingWriter();
    const group = groupOf(writer.write, { batchesInFlight: 8, decisionsPerBatch: 3, rowsPerBatch: 5 });
    const done = ['a', 'b', 'c', 'd'].map((decision) => group.submit(rowsOf(decision), later()));
    // Alone over the row limit: still sent, as a batch of its own.
    done.push(group.submit(rowsOf('big', 7), later()));
    done.push(group.submit(rowsOf('f', 1), later()));
    await nextTurn();
    assert.deepEqual(writer.batches, [
      ['a', 'a', 'b', 'b'],
      ['c', 'c', 'd', 'd'],
      ['big', 'big', 'big', 'big', 'big', 'big', 'big'],
      ['f'],
    ]);
    const limited = groupOf(writer.write, { batchesInFlight: 8, decisionsPerBatch: 2, rowsPerBatch: 100 });
    const three = ['x', 'y', 'z'].map((decision) => limited.submit(rowsOf(decision, 1), later()));
    await nextTurn();
    assert.deepEqual(writer.batches.slice(4), [['x', 'y'], ['z']]);
    for (let index = 0; index < writer.batches.length; index++) writer.complete(index);
    await Promise.all([...done, ...three]);
  });

  it('fails every decision of a failed batch and no other', async () => {
    const writer = new RecordingWriter();
    const group = groupOf(writer.write);
    const first = [group.submit(rowsOf('a'), later()), group.submit(rowsOf('b'), later())];
    await nextTurn();
    const second = group.submit(rowsOf('c'), later());
    await nextTurn();
    writer.fail(0, new Error('write timeout'));
    writer.complete(1);
    for (const decision of first) await assert.rejects(decision, /write timeout/);
    await second;
  });

  it('never sends a decision whose bound passed while it queued, and rejects it', async () => {
    const writer = new RecordingWriter();
    const group = groupOf(writer.write, { batchesInFlight: 1 });
    const first = group.submit(rowsOf('a'), later());
    await nextTurn();
    const expired = group.submit(rowsOf('stale'), { sendByMs: performance.now() + 5, abandoned: false });
    const fresh = group.submit(rowsOf('b'), later());
    await new Promise((resolve) => setTimeout(resolve, 20));
    writer.complete(0);
    await first;
    await assert.rejects(expired, QueuedPastBoundError);
    await nextTurn();
    assert.deepEqual(writer.batches, [['a', 'a'], ['b', 'b']]);
    writer.complete(1);
    await fresh;
  });

  it('never sends a decision its caller\'s timer abandoned, even before the bound by the clock', async () => {
    const writer = new RecordingWriter();
    const group = groupOf(writer.write, { batchesInFlight: 1 });
    const first = group.submit(rowsOf('a'), later());
    await nextTurn();
    const bound = later();
    const abandoned = group.submit(rowsOf('answered'), bound);
    bound.abandoned = true;
    writer.complete(0);
    await first;
    await assert.rejects(abandoned, QueuedPastBoundError);
    assert.deepEqual(writer.batches, [['a', 'a']]);
  });

  it('sends each decision of a batch refused for good again alone, and fails a passing failure\'s decisions together', async () => {
    const writer = new RecordingWriter();
    const refusedForGood = (error: unknown): boolean => error instanceof Error && error.message === 'invalid';
    const group = groupOf(writer.write, {}, refusedForGood);
    const good = group.submit(rowsOf('good'), later());
    const bad = group.submit(rowsOf('bad'), later());
    await nextTurn();
    writer.fail(0, new Error('invalid'));
    await nextTurn();
    assert.deepEqual(writer.batches.slice(1), [['good', 'good'], ['bad', 'bad']], 'each alone');
    writer.complete(1);
    writer.fail(2, new Error('invalid'));
    await good;
    await assert.rejects(bad, /invalid/);

    const timedOut = [group.submit(rowsOf('c'), later()), group.submit(rowsOf('d'), later())];
    await nextTurn();
    writer.fail(3, new Error('write timeout'));
    for (const decision of timedOut) await assert.rejects(decision, /write timeout/);
    assert.equal(writer.batches.length, 4, 'a passing failure is not retried here');
  });

  it('refuses limits below one', () => {
    const writer = new RecordingWriter();
    assert.throws(() => groupOf(writer.write, { batchesInFlight: 0, decisionsPerBatch: 1, rowsPerBatch: 1 }),
      RangeError);
  });
});
