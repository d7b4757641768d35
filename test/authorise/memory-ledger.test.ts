import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLedgerContract } from './ledger-contract';
import { MemoryLedger } from '../../src/authorise/memory-ledger';

runLedgerContract('embedded memory ledger', async () => ({
  ledger: new MemoryLedger({ retentionMs: 8 * 86_400_000 }),
  cleanup: async () => {},
}));

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

test('embedded memory ledger: the sweep forgets what is past the retention, and only that', async () => {
  const ledger = new MemoryLedger({ retentionMs: 8 * DAY_MS });
  await ledger.claimShard(0, 1);
  await ledger.putAccount({ accountId: 'acct-1', currency: '826', balanceMinor: 1_000_000, overdraftMinor: 0 }, 0, 1);
  const authorisation = (n: number, nowMs: number) => ledger.applyNow({
    kind: 'authorise', settlement: 'hold', idempotencyKey: `auth-${n}`, accountId: 'acct-1', cardId: 'card-1',
    shard: 0, fencingToken: 1, nowMs, amountMinor: 100, allowPartial: false, holdId: `hold-${n}`,
    expiresAtMs: nowMs + 7 * DAY_MS, references: { rrn: `rrn-${n}`, approvalCode: `A${n}` },
    limits: { dayKey: n === 1 ? '20261126' : '20261204', monthKey: n === 1 ? '202611' : '202612',
      dailySpendMinor: 1_000_000, monthlySpendMinor: 1_000_000 },
  });
  assert.equal(authorisation(1, NOW).status, 'approved');
  const afterOne = ledger.footprint;
  // What one sweep pass does on this single shard.
  const sweep = async (nowMs: number): Promise<void> => {
    await ledger.expireHolds(0, nowMs, 1);
    ledger.forgetExpired(nowMs);
  };
  assert.deepEqual(afterOne, { outcomes: 1, entries: 1, references: 2, counters: 2, tombstones: 0 });

  // Within the retention (and before the hold expires) the sweep keeps everything.
  await sweep(NOW + 2 * DAY_MS);
  assert.deepEqual(ledger.footprint, afterOne);

  // Eight days on, a second authorisation. The sweep a day later expires the first hold and forgets
  // the first authorisation's outcome and its day's counter. Its entry and references stay until
  // the hold's expiry plus the retention, as the Redis ledger keeps them, so a late reversal is
  // still matched (and releases nothing). November's month counter stays: days of November are
  // still within the retention.
  assert.equal(authorisation(2, NOW + 8 * DAY_MS).status, 'approved');
  await sweep(NOW + 9 * DAY_MS);
  assert.deepEqual(ledger.footprint, { outcomes: 1, entries: 2, references: 4, counters: 3, tombstones: 0 });
  const lateReversal = ledger.applyNow({
    kind: 'reverse', idempotencyKey: 'rev-1', accountId: 'acct-1', cardId: 'card-1', shard: 0, fencingToken: 1,
    nowMs: NOW + 9 * DAY_MS, references: { rrn: 'rrn-1' }, advice: false,
  });
  assert.deepEqual([lateReversal.status, lateReversal.approvedMinor], ['reversed', 0],
    'a reversal of the expired hold is matched and releases nothing');
  const inTimeReversal = ledger.applyNow({
    kind: 'reverse', idempotencyKey: 'rev-2', accountId: 'acct-1', cardId: 'card-1', shard: 0, fencingToken: 1,
    nowMs: NOW + 9 * DAY_MS, references: { rrn: 'rrn-2' }, advice: false,
  });
  assert.deepEqual([inTimeReversal.status, inTimeReversal.approvedMinor], ['reversed', 100]);
  // The reversal took December's day and month counters back to zero: they are dropped, not kept at 0.
  assert.deepEqual(ledger.footprint, { outcomes: 3, entries: 2, references: 4, counters: 1, tombstones: 0 });

  // Past the first hold's expiry plus the retention, its entry and references go.
  await sweep(NOW + 16 * DAY_MS);
  const unmatched = ledger.applyNow({
    kind: 'reverse', idempotencyKey: 'rev-3', accountId: 'acct-1', cardId: 'card-1', shard: 0, fencingToken: 1,
    nowMs: NOW + 16 * DAY_MS, references: { rrn: 'rrn-1' }, advice: false,
  });
  assert.equal(unmatched.status, 'original-unknown', 'past the hold expiry plus the retention nothing is matched');

  // Long after: nothing is left.
  await sweep(NOW + 40 * DAY_MS);
  assert.deepEqual(ledger.footprint, { outcomes: 0, entries: 0, references: 0, counters: 0, tombstones: 0 });
});

test('embedded memory ledger: reversal tombstones go at their expiry, oldest first, and a refreshed one is kept', async () => {
  const ledger = new MemoryLedger({ retentionMs: 8 * DAY_MS });
  await ledger.claimShard(0, 1);
  await ledger.putAccount({ accountId: 'acct-1', currency: '826', balanceMinor: 1_000_000, overdraftMinor: 0 }, 0, 1);
  // A reversal whose original was never seen leaves a tombstone, so the late original is refused.
  const reverseUnknown = (n: number, originalKey: string, nowMs: number) => ledger.applyNow({
    kind: 'reverse', idempotencyKey: `rev-${n}`, accountId: 'acct-1', cardId: 'card-1', shard: 0, fencingToken: 1,
    nowMs, originalKey, references: {}, advice: true,
  });
  const original = (originalKey: string, nowMs: number) => ledger.applyNow({
    kind: 'authorise', settlement: 'hold', idempotencyKey: originalKey, accountId: 'acct-1', cardId: 'card-1',
    shard: 0, fencingToken: 1, nowMs, amountMinor: 100, allowPartial: false, holdId: `hold-${originalKey}`,
    expiresAtMs: nowMs + 7 * DAY_MS, references: {},
    limits: { dayKey: '20261126', monthKey: '202611', dailySpendMinor: 1_000_000, monthlySpendMinor: 1_000_000 },
  });
  assert.equal(reverseUnknown(1, 'orig-a', NOW).status, 'original-unknown');
  assert.equal(reverseUnknown(2, 'orig-b', NOW + DAY_MS).status, 'original-unknown');
  // A second reversal of orig-a two days on: its tombstone now lasts from then.
  assert.equal(reverseUnknown(3, 'orig-a', NOW + 2 * DAY_MS).status, 'original-unknown');
  assert.equal(ledger.footprint.tombstones, 2);

  ledger.forgetExpired(NOW + 9 * DAY_MS + 1);
  assert.equal(ledger.footprint.tombstones, 1, 'orig-b, set a day after orig-a was first, goes at its own expiry');
  assert.equal(original('orig-a', NOW + 9 * DAY_MS + 2).status, 'original-reversed', 'the refreshed tombstone is kept');
  assert.equal(original('orig-b', NOW + 9 * DAY_MS + 2).status, 'approved', 'a forgotten tombstone refuses nothing');

  ledger.forgetExpired(NOW + 10 * DAY_MS + 1);
  assert.equal(ledger.footprint.tombstones, 0);
});
