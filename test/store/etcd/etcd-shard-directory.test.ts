// Shard ownership through etcd, in one process with real etcd and Redis: tokens are the owner keys'
// create revisions and reach the ledger before a shard is served; a revoked lease moves every shard
// at once; a partitioned instance stops handing out tokens within the TTL; a Redis that lost its data
// gets its shards claimed again.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { EtcdShardDirectory } from '../../../src/store/etcd/etcd-shard-directory';
import type { RedisLedger } from '../../../src/store/redis/redis-ledger';
import { etcdEndpoints, redisUrl } from '../../support/services';
import {
  allShards, cleanNamespace, ownerTokens, openLedger, revokeLease, SHARD_COUNT, startDirectory, testNamespace,
  TTL_SECONDS, waitFor, type TestNamespace,
} from './directory-fixture';
import { PausableProxy } from './pausable-proxy';
import Redis from 'ioredis';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

async function setUp(): Promise<{ namespace: TestNamespace; ledger: RedisLedger }> {
  const namespace = testNamespace();
  const ledger = await openLedger(namespace);
  cleanups.push(() => cleanNamespace(namespace), () => ledger.close());
  return { namespace, ledger };
}

async function started(namespace: TestNamespace, ledger: RedisLedger,
  extra: Parameters<typeof startDirectory>[2] = {}): Promise<EtcdShardDirectory> {
  const directory = await startDirectory(namespace, ledger, extra);
  cleanups.push(() => directory.close());
  return directory;
}

test('the first instance gains every shard; tokens are the owner keys\' create revisions, claimed in Redis', async () => {
  const { namespace, ledger } = await setUp();
  const directory = await started(namespace, ledger);
  assert.ok(await directory.waitUntilReady(3_000), 'ready');
  assert.deepEqual(directory.ownedShards(), allShards());
  const tokens = await ownerTokens(namespace);
  for (const shard of allShards()) {
    assert.ok(tokens[shard]! > 0);
    assert.equal(directory.currentToken(shard), tokens[shard]);
    assert.equal(await ledger.fenceTokenOf(shard), tokens[shard]);
  }
});

test('a gain listener runs after the ledger holds the token and before any instance serves the shard', async () => {
  const { namespace, ledger } = await setUp();
  const leaving = await started(namespace, ledger, { instanceId: 'leaving' });
  assert.ok(await leaving.waitUntilReady(3_000));
  const bystander = await started(namespace, ledger, { instanceId: 'bystander' });
  assert.ok(await bystander.waitUntilReady(3_000));
  await bystander.close();
  const gainer = await started(namespace, ledger, { instanceId: 'gainer' });
  const observed: { shard: number; token: number; ledgerToken: number | undefined; servedEarly: boolean }[] = [];
  gainer.onShardGained(async (shard, token) => {
    observed.push({ shard, token, ledgerToken: await ledger.fenceTokenOf(shard),
      servedEarly: gainer.currentToken(shard) !== undefined });
  });
  await leaving.close();
  await waitFor(3_000, () => gainer.ownedShards().length === SHARD_COUNT, 'gainer owns every shard');
  assert.equal(observed.length, SHARD_COUNT);
  for (const entry of observed) {
    assert.equal(entry.ledgerToken, entry.token, 'claimShard ran before the listener');
    assert.equal(entry.servedEarly, false, 'the shard was not served before its listener finished');
    assert.equal(gainer.currentToken(entry.shard), entry.token);
  }
});

test('a second instance sees the first one\'s tokens, owns nothing, and both are ready', async () => {
  const { namespace, ledger } = await setUp();
  const first = await started(namespace, ledger, { instanceId: 'first' });
  assert.ok(await first.waitUntilReady(3_000));
  const second = await started(namespace, ledger, { instanceId: 'second' });
  assert.ok(await second.waitUntilReady(3_000));
  assert.deepEqual(second.ownedShards(), []);
  for (const shard of allShards()) assert.equal(second.currentToken(shard), first.currentToken(shard));
});

test('when the owner\'s lease is revoked, the other instance takes every shard with newer tokens at once', async () => {
  const { namespace, ledger } = await setUp();
  const first = await started(namespace, ledger, { instanceId: 'first' });
  assert.ok(await first.waitUntilReady(3_000));
  const second = await started(namespace, ledger, { instanceId: 'second' });
  assert.ok(await second.waitUntilReady(3_000));
  const before = allShards().map((shard) => first.currentToken(shard)!);
  const lost: number[] = [];
  first.onShardLost((shard) => lost.push(shard));

  await revokeLease(first.leaseId()!);
  const elapsed = await waitFor(TTL_SECONDS * 1000, () => second.ownedShards().length === SHARD_COUNT,
    'second owns every shard');
  assert.ok(elapsed < 1_000, `a revoked lease frees its shards at once (took ${elapsed.toFixed(0)} ms)`);
  for (const shard of allShards()) {
    const token = second.currentToken(shard)!;
    assert.ok(token > before[shard]!, 'the new token is newer');
    assert.equal(await ledger.fenceTokenOf(shard), token);
  }
  await waitFor(TTL_SECONDS * 1000, () => first.ownedShards().length === 0 && lost.length === SHARD_COUNT,
    'the first instance knows it lost them');
  await waitFor(TTL_SECONDS * 1000, () => allShards().every((shard) => first.currentToken(shard) === second.currentToken(shard)),
    'the first instance follows the new tokens');
});

test('a partitioned owner stops handing out tokens within the TTL and its shards move after its lease expires', async () => {
  const { namespace, ledger } = await setUp();
  const proxy = await PausableProxy.start(new URL(etcdEndpoints[0]!));
  cleanups.push(() => proxy.close());
  const partitioned = await started(namespace, ledger, { instanceId: 'partitioned', endpoints: [proxy.endpoint] });
  assert.ok(await partitioned.waitUntilReady(3_000));
  const survivor = await started(namespace, ledger, { instanceId: 'survivor' });
  assert.ok(await survivor.waitUntilReady(3_000));

  proxy.pause();
  const pausedAt = performance.now();
  await waitFor(TTL_SECONDS * 1000 + 200, () => partitioned.ownedShards().length === 0, 'self-fenced');
  const selfFencedAfter = performance.now() - pausedAt;
  await waitFor(TTL_SECONDS * 1000 + 200, () => allShards().every((shard) => partitioned.currentToken(shard) === undefined),
    'no token handed out on a stale view');
  assert.equal(partitioned.isReady(), false);
  await waitFor(TTL_SECONDS * 1000 + 2_500, () => survivor.ownedShards().length === SHARD_COUNT, 'survivor took over');
  const tookOverAfter = performance.now() - pausedAt;
  assert.ok(selfFencedAfter < tookOverAfter, `self-fenced at ${selfFencedAfter.toFixed(0)} ms, before the takeover at ${tookOverAfter.toFixed(0)} ms`);
});

test('an owner whose Redis lost its data claims its shards there again', async () => {
  const { namespace, ledger } = await setUp();
  const directory = await started(namespace, ledger);
  assert.ok(await directory.waitUntilReady(3_000));
  const gains: number[] = [];
  directory.onShardGained((shard) => {
    gains.push(shard);
  });
  const tokens = allShards().map((shard) => directory.currentToken(shard)!);
  const admin = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  try {
    for (const shard of allShards()) await admin.del(`${namespace.redisPrefix}:{${shard}}:fence`);
  } finally {
    await admin.quit();
  }
  await waitFor(TTL_SECONDS * 1000 + 1_000, async () => {
    const stored = await Promise.all(allShards().map((shard) => ledger.fenceTokenOf(shard)));
    return stored.every((token, shard) => token === tokens[shard]);
  }, 'fences restored');
  await waitFor(1_000, () => gains.length === SHARD_COUNT && directory.isReady(), 'listeners reran and shards served');
});

test('rebuildOwnedShards reruns the gain listeners for every owned shard with the same tokens', async () => {
  const { namespace, ledger } = await setUp();
  const directory = await started(namespace, ledger);
  assert.ok(await directory.waitUntilReady(3_000));
  const tokens = allShards().map((shard) => directory.currentToken(shard));
  const rebuilt: [number, number][] = [];
  directory.onShardGained((shard, token) => {
    rebuilt.push([shard, token]);
  });
  directory.rebuildOwnedShards();
  await waitFor(3_000, () => rebuilt.length === SHARD_COUNT && directory.isReady(), 'rebuilt and served again');
  assert.deepEqual(rebuilt.sort((left, right) => left[0] - right[0]), allShards().map((shard) => [shard, tokens[shard]]));
  assert.deepEqual(allShards().map((shard) => directory.currentToken(shard)), tokens);
});
