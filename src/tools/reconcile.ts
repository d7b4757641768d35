/**
 * `npm run reconcile`: one reconciliation of every shard, Redis holds against Cassandra's record,
 * for on-call (docs/operations.md). Reads the stack configuration (GATEWAY_PROFILE=stack unless set)
 * and prints one JSON report; exits 1 when there are differences, 2 when it could not run.
 */
import { loadConfig } from '../config/load-config';
import { RedisLedger } from '../store/redis/redis-ledger';
import { cassandraSettings, openCassandraStore } from '../store/cassandra';
import { reconcileShards } from '../store/reconciliation-job';

async function main(): Promise<number> {
  const config = loadConfig({ env: { GATEWAY_PROFILE: 'stack', ...process.env } });
  const { redis, cassandra } = config.store;
  const shardCount = config.authorise.shardCount;
  const store = await openCassandraStore(cassandraSettings({
    contactPoints: [...cassandra.contactPoints], localDataCenter: cassandra.localDataCenter, keyspace: cassandra.keyspace,
    replication: { class: 'SimpleStrategy', replicationFactor: cassandra.replicationFactor },
    readConsistency: cassandra.readConsistency, writeConsistency: cassandra.writeConsistency,
    holdExpiryDays: config.authorise.holdExpiryDays, shardCount,
  }));
  const ledger = await RedisLedger.connect({ url: redis.url, shardCount, keyPrefix: redis.keyPrefix,
    commandTimeoutMs: 2000 });
  try {
    const shards = Array.from({ length: shardCount }, (_, shard) => shard);
    const report = await reconcileShards(ledger, store.accounts, shards);
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return report.differences.length === 0 ? 0 : 1;
  } finally {
    await ledger.close();
    await store.close();
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`reconcile failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(2);
});
