// Shared set-up for the etcd shard directory tests: a Redis ledger and etcd keys under prefixes of
// this run's own (other suites share both services), and helpers to wait on ownership.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { EtcdShardDirectory, type EtcdShardDirectoryOptions } from '../../../src/store/etcd/etcd-shard-directory';
import { RedisLedger } from '../../../src/store/redis/redis-ledger';
import { etcdEndpoints, redisUrl } from '../../support/services';
import { dropPrefix } from '../redis/ledger-fixture';

export const SHARD_COUNT = 4;
export const TTL_SECONDS = 2;

export interface TestNamespace {
  redisPrefix: string;
  etcdPrefix: string;
}

export function testNamespace(): TestNamespace {
  const id = randomUUID().slice(0, 8);
  return { redisPrefix: `test-dir-${id}`, etcdPrefix: `/test-dir-${id}/` };
}

export async function openLedger(namespace: TestNamespace): Promise<RedisLedger> {
  return RedisLedger.connect({
    url: redisUrl, shardCount: SHARD_COUNT, keyPrefix: namespace.redisPrefix, commandTimeoutMs: 2000,
    // Tests sum every hold of an account (the default view lists 500).
    accountViewHoldLimit: 10_000,
  });
}

export function directoryOptions(namespace: TestNamespace, extra: Partial<EtcdShardDirectoryOptions> = {}):
  EtcdShardDirectoryOptions {
  return {
    endpoints: etcdEndpoints, shardCount: SHARD_COUNT, prefix: namespace.etcdPrefix,
    leaseTtlSeconds: TTL_SECONDS, selfFenceMarginMs: 300, ...extra,
  };
}

export async function startDirectory(namespace: TestNamespace, ledger: RedisLedger,
  extra: Partial<EtcdShardDirectoryOptions> = {}): Promise<EtcdShardDirectory> {
  return EtcdShardDirectory.start(directoryOptions(namespace, extra), ledger);
}

/** Polls every 5 ms; resolves with the elapsed ms, rejects after limitMs. */
export async function waitFor(limitMs: number, condition: () => boolean | Promise<boolean>,
  what = 'condition'): Promise<number> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > limitMs) throw new Error(`${what} not met within ${limitMs} ms`);
    await sleep(5);
  }
  return performance.now() - started;
}

export async function cleanNamespace(namespace: TestNamespace): Promise<void> {
  const client = new Etcd3({ hosts: [...etcdEndpoints] });
  try {
    await client.delete().prefix(namespace.etcdPrefix).exec();
  } finally {
    client.close();
  }
  await dropPrefix(namespace.redisPrefix);
}

/** Owner keys' create revisions straight from etcd (the tokens every instance should agree on). */
export async function ownerTokens(namespace: TestNamespace): Promise<number[]> {
  const client = new Etcd3({ hosts: [...etcdEndpoints] });
  try {
    const tokens = new Array<number>(SHARD_COUNT).fill(0);
    const response = await client.getAll().prefix(`${namespace.etcdPrefix}shards/`).exec();
    for (const kv of response.kvs) {
      const shard = Number(kv.key.toString().slice(`${namespace.etcdPrefix}shards/`.length).split('/')[0]);
      tokens[shard] = Number(kv.create_revision);
    }
    return tokens;
  } finally {
    client.close();
  }
}

/** Revokes a lease from outside its holder, as an operator (or etcd, on expiry) would. */
export async function revokeLease(leaseId: string): Promise<void> {
  const client = new Etcd3({ hosts: [...etcdEndpoints] });
  try {
    await client.leaseClient.leaseRevoke({ ID: leaseId });
  } finally {
    client.close();
  }
}

export function allShards(): number[] {
  return Array.from({ length: SHARD_COUNT }, (_, shard) => shard);
}
