/**
 * The adaptive in-flight limit on its own: how it rises on decisions inside the target, how it is
 * cut on slower ones (once per target interval), and its bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveConcurrencyLimit } from '../../src/acceptor/concurrency-limit';

const settings = { targetMs: 20, minLimit: 4, maxLimit: 100, backoff: 0.9 };

test('the limit starts at its maximum and decisions inside the target keep it there', () => {
  const limit = new AdaptiveConcurrencyLimit(settings);
  assert.equal(limit.current, 100);
  for (let i = 0; i < 1000; i++) limit.onDecision(5, i);
  assert.equal(limit.current, 100);
});

test('a decision slower than the target cuts the limit by the backoff, once per target interval', () => {
  const limit = new AdaptiveConcurrencyLimit(settings);
  limit.onDecision(25, 1_000);
  assert.equal(limit.current, 90);
  // The rest of the same slow batch, inside one target interval: no further cut.
  for (let i = 0; i < 50; i++) limit.onDecision(30, 1_000 + i * 0.1);
  assert.equal(limit.current, 90);
  limit.onDecision(30, 1_020);
  assert.equal(limit.current, 81);
});

test('decisions inside the target raise a cut limit by about one per round of decisions', () => {
  const limit = new AdaptiveConcurrencyLimit(settings);
  let nowMs = 0;
  for (let i = 0; i < 10; i++) limit.onDecision(50, (nowMs += 20));
  const cut = limit.current;
  assert.ok(cut < 40, `cut to ${cut}`);
  // One round is `cut` decisions: after it the limit is one higher.
  for (let i = 0; i < cut; i++) limit.onDecision(1, (nowMs += 0.01));
  assert.equal(limit.current, cut + 1);
  for (let i = 0; i < 100_000; i++) limit.onDecision(1, (nowMs += 0.01));
  assert.equal(limit.current, 100, 'never above the maximum');
});

test('no run of slow decisions takes the limit below its minimum', () => {
  const limit = new AdaptiveConcurrencyLimit(settings);
  for (let i = 0; i < 500; i++) limit.onDecision(1_000, i * 20);
  assert.equal(limit.current, 4);
});

test('bounds and backoff outside their ranges are refused', () => {
  assert.throws(() => new AdaptiveConcurrencyLimit({ ...settings, minLimit: 0 }), RangeError);
  assert.throws(() => new AdaptiveConcurrencyLimit({ ...settings, minLimit: 200 }), RangeError);
  assert.throws(() => new AdaptiveConcurrencyLimit({ ...settings, backoff: 1 }), RangeError);
  assert.throws(() => new AdaptiveConcurrencyLimit({ ...settings, backoff: 0 }), RangeError);
});
