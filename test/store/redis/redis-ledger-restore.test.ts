// Restoring an account from the durable record (the rebuild after Redis lost its data): the balance
// and every pending hold come back, in bounded Function calls, and a retransmission of a restored
// authorisation replays instead of holding again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shardOfAccount } from '../../../src/authorise/shard-directory';
import { claimAll, dropPrefix, NOW, DAY_MS, openLedger, SHARD_COUNT, TOKEN, uniquePrefix } from './ledger-fixture';

test('an account with 1,200 pending holds is restored whole, replacing what Redis had, and its holds replay', async () => {
  const prefix = uniquePrefix();
  const ledger = await openLedger(prefix);
  try {
    await claimAll(ledger);
    const accountId = 'acct-restore';
    const shard = shardOfAccount(accountId, SHARD_COUNT);
    await ledger.putAccount({ accountId, currency: '826', balanceMinor: 1, overdraftMinor: 0 }, shard, TOKEN);
    const holds = Array.from({ length: 1200 }, (_, i) => ({
      holdId: `hold-${i}`, accountId, cardId: 'card-restore', amountMinor: 10 + (i % 7), status: 'pending' as const,
      idempotencyKey: `10:1:${String(i).padStart(6, '0')}:1126120000`, createdAtMs: NOW, expiresAtMs: Date.now() + 7 * DAY_MS,
      overdrawn: false, rrn: `RRN${String(i).padStart(9, '0')}`, approvalCode: '',
    }));
    const held = holds.reduce((sum, hold) => sum + hold.amountMinor, 0);
    await ledger.restoreAccount({ account: { accountId, currency: '826', balanceMinor: 1_000_000, overdraftMinor: 0 },
      holds }, shard, TOKEN);
    const view = await ledger.getAccount(accountId);
    assert.equal(view?.balanceMinor, 1_000_000);
    assert.equal(view?.holds.length, 1200);
    assert.equal(view?.availableMinor, 1_000_000 - held);

    const replay = await ledger.apply({
      kind: 'authorise', settlement: 'hold', idempotencyKey: holds[777]!.idempotencyKey, accountId, cardId: 'card-restore',
      shard, fencingToken: TOKEN, nowMs: Date.now(), amountMinor: holds[777]!.amountMinor, allowPartial: false,
      limits: { dayKey: '20261126', monthKey: '202611', dailySpendMinor: 1e12, monthlySpendMinor: 1e12 },
      holdId: 'a-new-hold', expiresAtMs: Date.now() + DAY_MS, references: {},
    });
    assert.equal(replay.replayed, true);
    assert.equal(replay.holdId, 'hold-777');
    assert.equal((await ledger.getAccount(accountId))?.availableMinor, 1_000_000 - held, 'no second hold');

    // A second restore replaces, not adds.
    await ledger.restoreAccount({ account: { accountId, currency: '826', balanceMinor: 500, overdraftMinor: 0 },
      holds: holds.slice(0, 3) }, shard, TOKEN);
    const replaced = await ledger.getAccount(accountId);
    assert.equal(replaced?.holds.length, 3);
    assert.equal(replaced?.availableMinor, 500 - holds.slice(0, 3).reduce((sum, hold) => sum + hold.amountMinor, 0));
    await assert.rejects(ledger.restoreAccount({ account: { accountId, currency: '826', balanceMinor: 1, overdraftMinor: 0 },
      holds: [] }, shard, TOKEN - 1), /refused/);
  } finally {
    await ledger.close();
    await dropPrefix(prefix);
  }
});
