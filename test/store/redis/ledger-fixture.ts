// Shared set-up for the Redis ledger tests: a ledger on the test Redis under a key prefix of its
// own (tests never flush a Redis other runs may share), its shards claimed, and operation builders.
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type {
  AdviceOperation, AuthoriseOperation, ReverseOperation, SpendLimitCheck,
} from '../../../src/authorise/ledger';
import { shardOfAccount } from '../../../src/authorise/shard-directory';
import { RedisLedger, type RedisLedgerOptions } from '../../../src/store/redis/redis-ledger';
import { redisUrl } from '../../support/services';

export const SHARD_COUNT = 8;
export const TOKEN = 100;
export const DAY_MS = 86_400_000;
export const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

export function uniquePrefix(): string {
  return `test-${randomUUID().slice(0, 8)}`;
}

export async function openLedger(prefix: string, extra: Partial<RedisLedgerOptions> = {}): Promise<RedisLedger> {
  return RedisLedger.connect({
    url: redisUrl, shardCount: SHARD_COUNT, keyPrefix: prefix,
    // Tests run on 2 shared cores next to other suites: a generous timeout keeps them from flaking.
    commandTimeoutMs: 2000, ...extra,
  });
}

export async function claimAll(ledger: RedisLedger, token = TOKEN): Promise<void> {
  for (let shard = 0; shard < SHARD_COUNT; shard += 1) await ledger.claimShard(shard, token);
}

/** Deletes every key under the prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}

export function shardOf(accountId: string): number {
  return shardOfAccount(accountId, SHARD_COUNT);
}

export const generousLimits: SpendLimitCheck = {
  dayKey: '20261126', monthKey: '202611', dailySpendMinor: 10_000_000, monthlySpendMinor: 100_000_000,
};

let sequence = 0;
function nextId(kind: string): string {
  sequence += 1;
  return `${kind}-${sequence}-${randomUUID().slice(0, 6)}`;
}

export function authoriseOp(accountId: string, amountMinor: number,
  extra: Partial<AuthoriseOperation> = {}): AuthoriseOperation {
  return {
    kind: 'authorise', idempotencyKey: nextId('auth'), accountId, cardId: `card-${accountId}`,
    shard: shardOf(accountId), fencingToken: TOKEN, nowMs: NOW, settlement: 'hold', amountMinor,
    allowPartial: false, limits: generousLimits, holdId: nextId('hold'), expiresAtMs: NOW + 7 * DAY_MS,
    references: {}, ...extra,
  };
}

export function adviceOp(accountId: string, amountMinor: number,
  extra: Partial<AdviceOperation> = {}): AdviceOperation {
  return {
    kind: 'advice', idempotencyKey: nextId('advice'), accountId, cardId: `card-${accountId}`,
    shard: shardOf(accountId), fencingToken: TOKEN, nowMs: NOW, settlement: 'hold', amountMinor,
    limits: generousLimits, holdId: nextId('hold'), expiresAtMs: NOW + 7 * DAY_MS, references: {}, ...extra,
  };
}

export function reverseOp(accountId: string, extra: Partial<ReverseOperation> = {}): ReverseOperation {
  return {
    kind: 'reverse', idempotencyKey: nextId('rev'), accountId, cardId: `card-${accountId}`,
    shard: shardOf(accountId), fencingToken: TOKEN, nowMs: NOW, references: {}, advice: false, ...extra,
  };
}

export async function putAccount(ledger: RedisLedger, accountId: string, balanceMinor: number,
  overdraftMinor = 0): Promise<void> {
  await ledger.putAccount({ accountId, currency: '826', balanceMinor, overdraftMinor }, shardOf(accountId), TOKEN);
}
