// The Redis card directory: cards shared by every gateway, cached in process, and a change through
// one gateway seen by another within milliseconds (pub/sub invalidation), also across a lost
// subscription.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import type { Card } from '../../../src/authorise/types';
import { RedisCardDirectory } from '../../../src/store/redis/redis-card-directory';
import { redisUrl } from '../../support/services';
import { dropPrefix, uniquePrefix } from './ledger-fixture';

const prefix = uniquePrefix();
let gatewayA: RedisCardDirectory;
let gatewayB: RedisCardDirectory;

function card(cardId: string, panHash: string): Card {
  return {
    cardId, panHash, panMasked: '535522******0012', expiry: '2912', accountId: `acct-${cardId}`, status: 'active',
    controls: { frozen: false, gamblingBlock: false, atmBlock: false, contactlessBlock: false, magstripeBlock: false,
      onlineBlock: false, blockedCountries: [] },
    limits: { dailySpendMinor: 500_000, monthlySpendMinor: 2_000_000, atmDailyAmountMinor: 40_000, atmDailyCount: 5,
      contactlessSingleMinor: 10_000 },
  };
}

/** Polls a synchronous condition every millisecond; resolves with the elapsed milliseconds. */
async function within(limitMs: number, condition: () => boolean): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > limitMs) throw new Error(`condition not met within ${limitMs} ms`);
    await sleep(1);
  }
  return performance.now() - started;
}

before(async () => {
  const options = { url: redisUrl, keyPrefix: prefix, commandTimeoutMs: 2000 };
  gatewayA = await RedisCardDirectory.connect({ ...options, connectionName: `${prefix}-a` });
  gatewayB = await RedisCardDirectory.connect({ ...options, connectionName: `${prefix}-b` });
});

after(async () => {
  await gatewayA.close();
  await gatewayB.close();
  await dropPrefix(prefix);
});

test('a card put through one gateway is loaded by another, then served from its cache', async () => {
  await gatewayA.put(card('card-1', 'pan-hash-1'));
  assert.equal(gatewayB.cached('pan-hash-1'), undefined);
  assert.equal((await gatewayB.load('pan-hash-1'))?.cardId, 'card-1');
  assert.equal(gatewayB.cached('pan-hash-1')?.accountId, 'acct-card-1');
  assert.equal((await gatewayB.getById('card-1'))?.panHash, 'pan-hash-1');
  assert.equal(await gatewayB.load('unknown-pan-hash'), undefined);
  assert.equal(await gatewayB.getById('unknown-card'), undefined);
});

test('a patch through one gateway replaces the other gateway\'s cached card within milliseconds', async (t) => {
  await gatewayA.put(card('card-2', 'pan-hash-2'));
  await gatewayB.load('pan-hash-2');
  assert.equal(gatewayB.cached('pan-hash-2')?.status, 'active');
  const patched = await gatewayA.patch('card-2', { status: 'lost', controls: { frozen: true } });
  assert.equal(patched?.status, 'lost');
  assert.equal(patched?.controls.gamblingBlock, false, 'a patch keeps the fields it does not name');
  const elapsed = await within(500, () => gatewayB.cached('pan-hash-2')?.status === 'lost');
  assert.equal(gatewayB.cached('pan-hash-2')?.controls.frozen, true);
  assert.ok(elapsed < 100, `took ${elapsed.toFixed(1)} ms`);
  t.diagnostic(`patch seen by the other gateway's cache after ${elapsed.toFixed(1)} ms`);
  assert.equal(await gatewayA.patch('no-such-card', { status: 'blocked' }), undefined);
});

test('concurrent patches from two gateways both apply (compare-and-set, retried)', async () => {
  await gatewayA.put(card('card-3', 'pan-hash-3'));
  await Promise.all([
    gatewayA.patch('card-3', { controls: { atmBlock: true } }),
    gatewayB.patch('card-3', { limits: { dailySpendMinor: 1 } }),
  ]);
  const stored = await gatewayA.getById('card-3');
  assert.equal(stored?.controls.atmBlock, true);
  assert.equal(stored?.limits.dailySpendMinor, 1);
});

test('a new card on the same PAN hash replaces the old one everywhere', async () => {
  await gatewayA.put(card('card-4', 'pan-hash-4'));
  await gatewayB.load('pan-hash-4');
  await gatewayA.put(card('card-4-reissued', 'pan-hash-4'));
  await within(500, () => gatewayB.cached('pan-hash-4')?.cardId === 'card-4-reissued');
  assert.equal(await gatewayB.getById('card-4'), undefined);
});

test('while its subscription is down a gateway serves no cached card, and catches up after', async () => {
  await gatewayA.put(card('card-5', 'pan-hash-5'));
  await gatewayB.load('pan-hash-5');
  assert.equal(gatewayB.cached('pan-hash-5')?.status, 'active');
  const admin = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  try {
    // Only gateway B's subscriber connection: its name is this run's, and it is the one in pub/sub mode.
    const clients = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).split('\n');
    const subscriber = clients.find((line) => line.includes(` name=${prefix}-b `));
    const id = subscriber === undefined ? undefined : /^id=(\d+)/.exec(subscriber)?.[1];
    assert.ok(id !== undefined, 'gateway B has a subscriber connection');
    await admin.call('CLIENT', 'KILL', 'ID', id);
    await within(500, () => gatewayB.cached('pan-hash-5') === undefined);
    // A change made while B may not hear of it...
    await gatewayA.patch('card-5', { status: 'stolen' });
    // ...is what B serves once it has resubscribed.
    await within(2_000, () => gatewayB.isSubscribed());
    assert.equal((await gatewayB.load('pan-hash-5'))?.status, 'stolen');
    assert.equal(gatewayB.cached('pan-hash-5')?.status, 'stolen');
  } finally {
    await admin.quit();
  }
});
