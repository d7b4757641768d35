/**
 * The adaptive in-flight limit on its own: decisions judged per window, the cuts a slow window
 * makes, how a cut limit grows back, and its bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveConcurrencyLimit } from '../../src/acceptor/concurrency-limit';

const settings = { targetMs: 20, windowMs: 100, minLimit: 4, maxLimit: 100 };

/** Feeds one window's decisions (`slow` of them slower than the target) starting at `startMs`. */
function feedWindow(limit: AdaptiveConcurrencyLimit, startMs: number, decisions: number, slow: number): void {
  for (let i = 0; i < decisions; i++) {
    limit.onDecision(i < slow ? 30 : 5, startMs + (i * settings.windowMs) / (decisions + 1));
  }
}

/** The limit after the window starting at startMs has been judged (by the next window's first decision). */
function judged(limit: AdaptiveConcurrencyLimit, startMs: number): number {
  limit.onDecision(5, startMs + settings.windowMs);
  return limit.current;
}

test('the limit starts at its maximum and fast windows keep it there', () => {
  const limit = new AdaptiveConcurrencyLimit(settings);
  assert.equal(limit.current, 100);
  for (let window = 0; window < 20; window++) feedWindow(limit, window * 100, 50, 0);
  assert.equal(judged(limit, 1_900), 100);
});

test('a window with more than a tenth of its decisions slow cuts the limit by a fifth', () => {
  const limit = new AdaptiveConcurrencyLimit(settings);
  feedWindow(limit, 0, 50, 0);
  feedWindow(limit, 100, 50, 6);
  assert.equal(limit.current, 100, 'judged only when the window is over');
  assert.equal(judged(limit, 100), 80);
});

test('a window with more than half of its decisions slow halves the limit', () => {
  const limit = new AdaptiveConcurrencyLimit(settings);
  feedWindow(limit, 0, 50, 0);
  feedWindow(limit, 100, 50, 30);
  assert.equal(judged(limit, 100), 50);
});

test('a tenth or fewer slow, or a single slow decision in a quiet window, is not a cut', () => {
  const limit = new AdaptiveConcurrencyLimit(settings);
  feedWindow(limit, 0, 50, 0);
  feedWindow(limit, 100, 50, 5);
  assert.equal(judged(limit, 100), 100);
  feedWindow(limit, 200, 3, 1);
  assert.equal(judged(limit, 200), 100);
  feedWindow(limit, 300, 3, 2);
  assert.equal(judged(limit, 300), 80, 'two of three slow is a trend');
});

test('a cut limit grows back by a tenth (at least one) per fast window, up to the maximum', () => {
  const limit = new AdaptiveConcurrencyLimit(settings);
  let startMs = 0;
  for (let i = 0; i < 8; i++, startMs += 100) feedWindow(limit, startMs, 40, 30);
  assert.equal(judged(limit, startMs - 100), 4, 'deep cuts stop at the minimum');
  const grown: number[] = [];
  for (let i = 0; i < 3; i++, startMs += 100) {
    feedWindow(limit, startMs, 40, 0);
    grown.push(judged(limit, startMs));
  }
  assert.deepEqual(grown, [5, 6, 7], 'at least one a window while small');
  for (let i = 0; i < 40; i++, startMs += 100) feedWindow(limit, startMs, 40, 0);
  assert.equal(judged(limit, startMs - 100), 100, 'back at the maximum within seconds of fast windows');
});

test('bounds, target and window outside their ranges are refused', () => {
  assert.throws(() => new AdaptiveConcurrencyLimit({ ...settings, minLimit: 0 }), RangeError);
  assert.throws(() => new AdaptiveConcurrencyLimit({ ...settings, minLimit: 200 }), RangeError);
  assert.throws(() => new AdaptiveConcurrencyLimit({ ...settings, targetMs: 0 }), RangeError);
  assert.throws(() => new AdaptiveConcurrencyLimit({ ...settings, windowMs: 0 }), RangeError);
});
