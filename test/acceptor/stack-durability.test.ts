/**
 * What must survive on the full stack: a gateway restart (duplicates and reversals still match,
 * accounts and cards still there), and Redis losing its data mid-load (no overspend; balances and
 * holds rebuilt from Cassandra before the shard serves again). Real Redis, etcd and Cassandra.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import type { RunningGateway } from '../../src/gateway';
import type { SchemePeer } from '../../src/simulator/scheme-peer';
import {
  admin, connectPeer, newStackNames, nextStan, schemeMessage, startTestGateway, type StackNames,
} from '../support/gateway-harness';
import { cassandraContactPoints, cassandraLocalDataCenter, redisUrl } from '../support/services';
import { RedisLedger } from '../../src/store/redis/redis-ledger';
import { cassandraSettings, openCassandraStore, scanTablesForPans } from '../../src/store/cassandra';
import { reconcileShards } from '../../src/store/reconciliation-job';

const PAN = '5454545454545454';

async function start(names: StackNames): Promise<{ gateway: RunningGateway; peer: SchemePeer }> {
  const gateway = await startTestGateway({ backend: 'stack', stackNames: names,
    configure: (config) => { config.seedFile = ''; return config; } });
  return { gateway, peer: await connectPeer(gateway) };
}

async function available(gateway: RunningGateway, accountId: string): Promise<number> {
  const account = await admin(gateway, 'GET', `/v1/accounts/${accountId}`);
  assert.equal(account.status, 200);
  return account.body['availableMinor'] as number;
}

test('after a gateway restart, repeats replay the original decision and reversals still find their original', async () => {
  const names = newStackNames();
  let { gateway, peer } = await start(names);
  const accountId = 'acct-restart';
  await admin(gateway, 'PUT', `/v1/accounts/${accountId}`, { currency: '826', balanceMinor: 10_000 });
  const card = await admin(gateway, 'PUT', '/v1/cards', { pan: PAN, expiry: '3012', accountId });
  const original = { pan: PAN, amountMinor: 3_000, stan: nextStan(), transmissionDateTime: '1126150000', acquirerId: '123456' };
  const first = await peer.requestOnce(schemeMessage(original), 5000);
  assert.equal(first?.getString(39), '00');
  const second = { pan: PAN, amountMinor: 1_000, stan: nextStan(), transmissionDateTime: '1126150100', acquirerId: '123456' };
  assert.equal((await peer.requestOnce(schemeMessage(second), 5000))?.getString(39), '00');
  await peer.close();
  await gateway.stop();

  ({ gateway, peer } = await start(names));
  try {
    assert.equal((await admin(gateway, 'GET', `/v1/cards/${card.body['cardId'] as string}`)).status, 200, 'the card survived');
    assert.equal(await available(gateway, accountId), 6_000, 'balance and holds survived');
    const repeat = await peer.requestOnce(schemeMessage({ ...original, mti: '0101' }), 5000);
    assert.equal(repeat?.getString(39), '00');
    assert.equal(repeat?.getString(38), first?.getString(38), 'the same approval code after the restart');
    const retransmission = await peer.requestOnce(schemeMessage(original), 5000);
    assert.equal(retransmission?.getString(38), first?.getString(38));
    assert.equal(await available(gateway, accountId), 6_000, 'no second hold');
    const reversal = await peer.requestOnce(schemeMessage({ mti: '0400', pan: PAN, amountMinor: 3_000,
      original: { mti: '0100', stan: original.stan, transmissionDateTime: original.transmissionDateTime,
        acquirerId: original.acquirerId } }), 5000);
    assert.equal(reversal?.getString(39), '00');
    assert.equal(await available(gateway, accountId), 9_000, 'the reversal released the original hold');
  } finally {
    await peer.close();
    await gateway.stop();
  }
});

test('Redis losing its data mid-load: no overspend, and balances and holds are rebuilt from Cassandra', async () => {
  const names = newStackNames();
  const { gateway, peer } = await start(names);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const accountId = 'acct-redis-loss';
    const balanceMinor = 20_000;
    await admin(gateway, 'PUT', `/v1/accounts/${accountId}`, { currency: '826', balanceMinor });
    await admin(gateway, 'PUT', '/v1/cards', { pan: PAN, expiry: '3012', accountId,
      limits: { dailySpendMinor: 999_999_999_999, monthlySpendMinor: 999_999_999_999 } });
    const amountMinor = 100;
    let approved = 0;
    const send = async (count: number): Promise<void> => {
      const responses = await Promise.all(Array.from({ length: count }, () =>
        peer.requestOnce(schemeMessage({ pan: PAN, amountMinor, stan: nextStan(), transmissionDateTime: '1126151500' }), 10_000)));
      approved += responses.filter((response) => response?.getString(39) === '00').length;
    };
    await send(100);
    // This gateway's keys only (other tests share the Redis): as if Redis restarted without persistence.
    const keys = await redis.keys(`${names.redisKeyPrefix}*`);
    assert.ok(keys.length > 0);
    await redis.del(...keys);
    // Load continues through the loss; then more than the balance is asked for.
    await send(300);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await send(100);
    assert.ok(approved * amountMinor <= balanceMinor, `approved ${approved * amountMinor} of ${balanceMinor}`);
    const held = balanceMinor - await available(gateway, accountId);
    assert.equal(held, approved * amountMinor, 'holds rebuilt: every approval answered is held, nothing more');
  } finally {
    redis.disconnect();
    await peer.close();
    await gateway.stop();
  }
});

test('reconciliation finds Redis and Cassandra in agreement after traffic, and reports a hold Redis lost; no table or log line holds a clear PAN', async () => {
  const names = newStackNames();
  const logLines: string[] = [];
  const gateway = await startTestGateway({ backend: 'stack', stackNames: names, logLines });
  const peer = await connectPeer(gateway);
  const shardCount = gateway.config.authorise.shardCount;
  const store = await openCassandraStore(cassandraSettings({
    contactPoints: [...cassandraContactPoints], localDataCenter: cassandraLocalDataCenter, keyspace: names.keyspace,
    writeConsistency: 'ONE', readConsistency: 'ONE', shardCount,
  }));
  const ledger = await RedisLedger.connect({ url: redisUrl, shardCount, keyPrefix: names.redisKeyPrefix, commandTimeoutMs: 2000 });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const accountId = 'acct-reconcile';
    await admin(gateway, 'PUT', `/v1/accounts/${accountId}`, { currency: '826', balanceMinor: 50_000 });
    await admin(gateway, 'PUT', '/v1/cards', { pan: PAN, expiry: '3012', accountId });
    for (let i = 0; i < 5; i++) {
      const response = await peer.requestOnce(schemeMessage({ pan: PAN, amountMinor: 1_000 + i }), 5000);
      assert.equal(response?.getString(39), '00');
    }
    // The demo cards are seeded too: decline paths for them write records as well.
    for (const demoPan of ['4111111111111111', '5105105105105100', '4000056655665556']) {
      await peer.requestOnce(schemeMessage({ pan: demoPan, amountMinor: 100, expiry: '3012' }), 5000);
    }
    const pans = [PAN, '4111111111111111', '5105105105105100', '4000056655665556', '5555555555554444'];
    const scan = await scanTablesForPans(store.client, names.keyspace, pans);
    assert.ok(scan.tablesScanned.length >= 5 && scan.rowsScanned > 0, JSON.stringify(scan));
    assert.deepEqual(scan.findings, [], 'no clear PAN in any table');
    for (const pan of pans) assert.ok(!logLines.some((line) => line.includes(pan)), 'no clear PAN in the logs');

    const allShards = Array.from({ length: shardCount }, (_, shard) => shard);
    const clean = await reconcileShards(ledger, store.accounts, allShards);
    assert.ok(clean.checkedAccounts >= 1);
    assert.deepEqual(clean.differences, []);

    const view = await ledger.getAccount(accountId);
    const lostHold = view?.holds[0];
    assert.ok(lostHold);
    const holdKeys = await redis.keys(`${names.redisKeyPrefix}*hold*${lostHold.holdId}*`);
    const listKeys = await redis.keys(`${names.redisKeyPrefix}*holds:${accountId}`);
    assert.ok(holdKeys.length > 0 && listKeys.length > 0);
    await redis.zrem(listKeys[0]!, lostHold.holdId);
    const dirty = await reconcileShards(ledger, store.accounts, allShards);
    assert.ok(dirty.differences.some((difference) => difference.kind === 'hold-missing-in-ledger'
      && 'holdId' in difference && difference.holdId === lostHold.holdId), JSON.stringify(dirty.differences));
  } finally {
    redis.disconnect();
    await ledger.close();
    await store.close();
    await peer.close();
    await gateway.stop();
  }
});
