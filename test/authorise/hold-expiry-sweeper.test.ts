import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { MemoryLedger } from '../../src/authorise/memory-ledger';
import { HoldExpirySweeper } from '../../src/authorise/hold-expiry-sweeper';
import { SingleProcessShardDirectory, type ShardDirectory } from '../../src/authorise/shard-directory';
import { createLogger } from '../../src/log/logger';

const DAY_MS = 86_400_000;
const quiet = createLogger({ level: 'silent', destination: new Writable({ write(_c, _e, done) { done(); } }) });

async function ledgerWithHold(shards: ShardDirectory, accountId: string, createdAtMs: number): Promise<MemoryLedger> {
  const ledger = new MemoryLedger({ retentionMs: 8 * DAY_MS });
  const shard = shards.shardOf(accountId);
  await ledger.claimShard(shard, 1);
  await ledger.putAccount({ accountId, currency: '826', balanceMinor: 10_000, overdraftMinor: 0 }, shard, 1);
  const outcome = await ledger.apply({
    kind: 'authorise', settlement: 'hold', idempotencyKey: `k-${accountId}`, accountId, cardId: 'c', shard,
    fencingToken: 1, nowMs: createdAtMs, amountMinor: 2_500, allowPartial: false,
    limits: { dayKey: 'd', monthKey: 'm', dailySpendMinor: 1e9, monthlySpendMinor: 1e9 }, holdId: `h-${accountId}`,
    expiresAtMs: createdAtMs + 7 * DAY_MS, references: {},
  });
  assert.equal(outcome.status, 'approved');
  return ledger;
}

test('the sweep releases holds past their 7-day expiry on the shards this instance owns', async () => {
  const shards = new SingleProcessShardDirectory(4);
  const createdAtMs = Date.UTC(2026, 10, 1);
  const ledger = await ledgerWithHold(shards, 'acct-sweep', createdAtMs);
  let nowMs = createdAtMs + 6 * DAY_MS;
  const sweeper = new HoldExpirySweeper(ledger, shards, 60_000, quiet, () => nowMs);
  assert.equal(await sweeper.sweepOnce(), 0, 'not yet expired');
  assert.equal((await ledger.getAccount('acct-sweep'))?.availableMinor, 7_500);
  nowMs = createdAtMs + 7 * DAY_MS + 1;
  assert.equal(await sweeper.sweepOnce(), 1);
  assert.equal((await ledger.getAccount('acct-sweep'))?.availableMinor, 10_000);
  assert.equal(await sweeper.sweepOnce(), 0, 'released once');
});

test('an instance does not sweep shards it does not own', async () => {
  const owner = new SingleProcessShardDirectory(4);
  const notOwner: ShardDirectory = {
    shardCount: 4, shardOf: (id) => owner.shardOf(id), currentToken: () => 1, ownsShard: () => false,
    isReady: () => true, close: async () => {},
  };
  const createdAtMs = Date.UTC(2026, 10, 1);
  const ledger = await ledgerWithHold(owner, 'acct-other', createdAtMs);
  const sweeper = new HoldExpirySweeper(ledger, notOwner, 60_000, quiet, () => createdAtMs + 30 * DAY_MS);
  assert.equal(await sweeper.sweepOnce(), 0);
  assert.equal((await ledger.getAccount('acct-other'))?.availableMinor, 7_500);
});

test('each sweep pass forgets what is past the retention once, after every owned shard was swept', async () => {
  const shards = new SingleProcessShardDirectory(4);
  const createdAtMs = Date.UTC(2026, 10, 1);
  const ledger = await ledgerWithHold(shards, 'acct-forget', createdAtMs);
  const calls: number[] = [];
  const forget = ledger.forgetExpired.bind(ledger);
  ledger.forgetExpired = (nowMs: number): void => {
    calls.push(nowMs);
    forget(nowMs);
  };
  const nowMs = createdAtMs + 40 * DAY_MS;
  const sweeper = new HoldExpirySweeper(ledger, shards, 60_000, quiet, () => nowMs);
  assert.equal(await sweeper.sweepOnce(), 1);
  assert.deepEqual(calls, [nowMs], 'once per pass, not once per shard');
  // Forty days on, the expired hold's outcome, entry and references are gone.
  assert.deepEqual({ ...ledger.footprint, counters: 0 }, { outcomes: 0, entries: 0, references: 0, counters: 0, tombstones: 0 });
});
