/**
 * The deadline queue: one timer for every waiting request, expiring each at its own deadline even
 * when requests are handed over out of deadline order (a frame held on one connection, cut after
 * newer frames from another).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { DeadlineQueue } from '../../src/acceptor/deadline-queue';

class Waiting {
  answered = false;
  expiredAtMs = -1;
  constructor(readonly name: string, readonly standInAtMs: number) {}
}

/** A queue that records what expires, in order, and the time it started from. */
function queueRecording(): { expired: Waiting[]; queue: DeadlineQueue<Waiting>; startMs: number } {
  const expired: Waiting[] = [];
  const queue = new DeadlineQueue<Waiting>((entry) => {
    entry.answered = true;
    entry.expiredAtMs = performance.now();
    expired.push(entry);
  }, () => performance.now());
  return { expired, queue, startMs: performance.now() };
}

test('each request expires at its own deadline, in deadline order, when pushed in that order', async () => {
  const { expired, queue, startMs } = queueRecording();
  const first = new Waiting('first', startMs + 20);
  const second = new Waiting('second', startMs + 40);
  queue.push(first);
  queue.push(second);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.deepEqual(expired.map((entry) => entry.name), ['first', 'second']);
  assert.ok(first.expiredAtMs >= first.standInAtMs && second.expiredAtMs >= second.standInAtMs);
  queue.close();
});

test('a request pushed after a later-due one still expires at its own, earlier deadline', async () => {
  const { expired, queue, startMs } = queueRecording();
  const later = new Waiting('later', startMs + 120);
  const held = new Waiting('held on another connection', startMs + 20);
  const between = new Waiting('between', startMs + 60);
  queue.push(later);
  queue.push(held);
  queue.push(between);
  await new Promise((resolve) => setTimeout(resolve, 160));
  assert.deepEqual(expired.map((entry) => entry.name), ['held on another connection', 'between', 'later']);
  assert.ok(held.expiredAtMs < later.standInAtMs - 30,
    `the earlier deadline was kept: expired ${(held.expiredAtMs - startMs).toFixed(1)} ms after the start`);
  queue.close();
});

test('answered requests are skipped, and an empty queue leaves no timer behind', async () => {
  const { expired, queue, startMs } = queueRecording();
  const answeredInTime = new Waiting('answered', startMs + 10);
  const missed = new Waiting('missed', startMs + 20);
  queue.push(answeredInTime);
  queue.push(missed);
  answeredInTime.answered = true;
  queue.settle();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(expired.map((entry) => entry.name), ['missed']);
  assert.equal(queue.size, 0);
  queue.close();
});
