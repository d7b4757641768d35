// Fencing at the resource: once a newer owner claimed a shard, every write carrying an older token is
// refused by Redis itself, whatever the writer believes; and a shard never claimed in this Redis (an
// empty Redis after data loss) refuses writes until its owner claims it again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RedisLedger } from '../../../src/store/redis/redis-ledger';
import { ShardFencedError } from '../../../src/authorise/shard-fenced-error';
import {
  authoriseOp, claimAll, dropPrefix, NOW, openLedger, putAccount, reverseOp, shardOf, TOKEN, uniquePrefix,
} from './ledger-fixture';

const prefix = uniquePrefix();
let ledger: RedisLedger;

before(async () => {
  ledger = await openLedger(prefix);
  await claimAll(ledger);
});

after(async () => {
  await ledger.close();
  await dropPrefix(prefix);
});

test('after claimShard with a newer token, every write with the older token is fenced and changes nothing', async () => {
  const accountId = 'fenced-account';
  const shard = shardOf(accountId);
  await putAccount(ledger, accountId, 10_000);
  const held = authoriseOp(accountId, 1_000);
  assert.equal((await ledger.apply(held)).status, 'approved');

  await ledger.claimShard(shard, TOKEN + 5);

  const late = await ledger.apply(authoriseOp(accountId, 2_000));
  assert.equal(late.status, 'fenced');
  assert.equal(late.responseCode, '91');
  const lateReversal = await ledger.apply(reverseOp(accountId, { originalKey: held.idempotencyKey }));
  assert.equal(lateReversal.status, 'fenced');
  await assert.rejects(ledger.putAccount({ accountId, currency: '826', balanceMinor: 1, overdraftMinor: 0 }, shard, TOKEN),
    ShardFencedError);
  await assert.rejects(ledger.credit(accountId, 1, 'c', shard, TOKEN), ShardFencedError);
  await assert.rejects(ledger.debit(accountId, 1, held.holdId, 'd', shard, TOKEN), ShardFencedError);
  assert.deepEqual(await ledger.expireHolds(shard, NOW + 30 * 86_400_000, TOKEN), { expired: [] },
    'a fenced sweep releases nothing');

  const view = await ledger.getAccount(accountId);
  assert.equal(view?.balanceMinor, 10_000);
  assert.equal(view?.availableMinor, 9_000);
  assert.deepEqual(view?.holds.map((hold) => [hold.holdId, hold.status]), [[held.holdId, 'pending']]);

  const current = await ledger.apply(authoriseOp(accountId, 2_000, { fencingToken: TOKEN + 5 }));
  assert.equal(current.status, 'approved', 'the new owner\'s token is accepted');
});

test('a stale claimer cannot move the fence back', async () => {
  const shard = shardOf('claim-order');
  await ledger.claimShard(shard, TOKEN + 50);
  await assert.rejects(ledger.claimShard(shard, TOKEN + 10), (error: unknown) =>
    error instanceof ShardFencedError && error.storedToken === TOKEN + 50);
  assert.equal(await ledger.fenceTokenOf(shard), TOKEN + 50);
});

test('a shard never claimed in this Redis refuses writes until claimed (Redis lost its data)', async () => {
  const emptyPrefix = uniquePrefix();
  const unclaimed = await openLedger(emptyPrefix);
  try {
    const accountId = 'after-data-loss';
    const shard = shardOf(accountId);
    await assert.rejects(putAccount(unclaimed, accountId, 1_000), ShardFencedError);
    assert.equal((await unclaimed.apply(authoriseOp(accountId, 10))).status, 'fenced');
    assert.equal(await unclaimed.fenceTokenOf(shard), undefined);
    await unclaimed.claimShard(shard, TOKEN);
    await putAccount(unclaimed, accountId, 1_000);
    assert.equal((await unclaimed.apply(authoriseOp(accountId, 10))).status, 'approved');
  } finally {
    await unclaimed.close();
    await dropPrefix(emptyPrefix);
  }
});

test('an idempotent replay is fenced too: a stale owner learns nothing and changes nothing', async () => {
  const accountId = 'replay-fenced';
  const shard = shardOf(accountId);
  await ledger.claimShard(shard, TOKEN + 100);
  await putAccount(ledger, accountId, 1_000).catch(() => undefined);
  await ledger.putAccount({ accountId, currency: '826', balanceMinor: 1_000, overdraftMinor: 0 }, shard, TOKEN + 100);
  const operation = authoriseOp(accountId, 100, { fencingToken: TOKEN + 100 });
  assert.equal((await ledger.apply(operation)).status, 'approved');
  assert.equal((await ledger.apply({ ...operation, fencingToken: TOKEN })).status, 'fenced');
});
