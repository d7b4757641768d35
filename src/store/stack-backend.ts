/**
 * The full stack backend: the Redis ledger and card directory for the hot path, etcd for shard
 * ownership and fencing, Cassandra for the durable record of decisions, accounts and cards.
 * Assembled here so the rest of the gateway sees only the interfaces.
 *
 * Start-up order: Cassandra (connect, migrate), Redis, then etcd ownership; a shard this instance
 * gains is rebuilt from Cassandra into Redis (restoreShard) before it is served, which covers both
 * a takeover and a Redis that lost its data (the directory re-claims a shard whose fence key Redis
 * no longer holds, and the ledger reports a replaced Redis by its run id).
 */
import { performance } from 'node:perf_hooks';
import type { Histogram, Registry } from 'prom-client';
import type { GatewayConfig } from '../config/schema';
import type { Logger } from '../log/logger';
import type { DecisionLog, DecisionRecord } from '../authorise/decision-log';
import { StoreMetrics, storeWriteDuration } from '../metrics/store-metrics';
import type { StoreBackend } from './backend';
import { retentionMs } from './backend';
import { RedisLedger } from './redis/redis-ledger';
import { RedisCardDirectory } from './redis/redis-card-directory';
import { EtcdShardDirectory } from './etcd/etcd-shard-directory';
import { cassandraSettings, openCassandraStore, rebuildShardFromCassandra, restoreShard } from './cassandra';
import { DurableCardDirectory } from './durable-card-directory';
import { DurableLedger } from './durable-ledger';
import { ReconciliationJob } from './reconciliation-job';

/** Time to wait at start-up for every shard to have an owner (ours or another instance's). */
const OWNERSHIP_WAIT_MS = 15_000;

class TimedDecisionLog implements DecisionLog {
  constructor(private readonly inner: DecisionLog, private readonly writeSeconds: Histogram.Internal<'store'>) {}

  async append(record: DecisionRecord): Promise<void> {
    const startMs = performance.now();
    await this.inner.append(record);
    this.writeSeconds.observe((performance.now() - startMs) / 1000);
  }

  appendPatiently(record: DecisionRecord): Promise<void> {
    return this.inner.appendPatiently(record);
  }

  findByIdempotencyKey(idempotencyKey: string): Promise<DecisionRecord | undefined> {
    return this.inner.findByIdempotencyKey(idempotencyKey);
  }

  recentForCard(cardId: string, limit: number): Promise<DecisionRecord[]> {
    return this.inner.recentForCard(cardId, limit);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export async function openStackBackend(config: GatewayConfig, logger: Logger, registry: Registry): Promise<StoreBackend> {
  const { redis, etcd, cassandra } = config.store;
  const shardCount = config.authorise.shardCount;
  const cassandraStore = await openCassandraStore(cassandraSettings({
    contactPoints: [...cassandra.contactPoints], localDataCenter: cassandra.localDataCenter,
    keyspace: cassandra.keyspace,
    replication: { class: 'SimpleStrategy', replicationFactor: cassandra.replicationFactor },
    writeConsistency: cassandra.writeConsistency, readConsistency: cassandra.readConsistency,
    writeTimeoutMs: cassandra.writeTimeoutMs, appendTimeoutMs: cassandra.appendTimeoutMs,
    writeFailurePolicy: cassandra.writeFailurePolicy, journal: { directory: cassandra.journalDirectory },
    holdExpiryDays: config.authorise.holdExpiryDays, shardCount, groupCommit: cassandra.groupCommit,
  }), {
    warn: (details, message) => logger.warn(details, message),
    info: (details, message) => logger.info(details, message),
    error: (details, message) => logger.error(details, message),
  });
  logger.info({ keyspace: cassandra.keyspace, migration: cassandraStore.migration }, 'cassandra ready');

  let redisLedger: RedisLedger | undefined;
  let redisCards: RedisCardDirectory | undefined;
  let shards: EtcdShardDirectory | undefined;
  try {
    redisLedger = await RedisLedger.connect({
      url: redis.url, shardCount, keyPrefix: redis.keyPrefix, commandTimeoutMs: redis.commandTimeoutMs,
      holdExpiryDays: config.authorise.holdExpiryDays, retentionMs: retentionMs(config),
    });
    redisCards = await RedisCardDirectory.connect({ url: redis.url, keyPrefix: redis.keyPrefix,
      commandTimeoutMs: redis.commandTimeoutMs });
    const ledgerForRebuild = redisLedger;
    shards = await EtcdShardDirectory.start({
      endpoints: etcd.endpoints, shardCount, prefix: etcd.prefix, leaseTtlSeconds: etcd.leaseTtlSeconds,
    }, redisLedger);
    const directory = shards;
    directory.onShardGained(async (shard, token) => {
      const rebuilt = await rebuildShardFromCassandra(shard, cassandraStore.accounts);
      await restoreShard(ledgerForRebuild, rebuilt, token);
      logger.info({ shard, fencingToken: token, accounts: rebuilt.accounts.length },
        'shard gained: balances and holds rebuilt from Cassandra');
    });
    redisLedger.onStoreReplaced(() => {
      logger.warn('Redis was replaced (new run id): rebuilding owned shards from Cassandra');
      directory.rebuildOwnedShards();
    });
    // Gains that happened during start() ran before the listener existed: run them again with it.
    directory.rebuildOwnedShards();
    if (!await directory.waitUntilReady(OWNERSHIP_WAIT_MS)) {
      logger.warn({ waitedMs: OWNERSHIP_WAIT_MS }, 'not every shard has a live owner yet; those answer 91');
    }
  } catch (error) {
    await shards?.close().catch(() => undefined);
    await redisCards?.close().catch(() => undefined);
    await redisLedger?.close().catch(() => undefined);
    await cassandraStore.close().catch(() => undefined);
    throw error;
  }

  const ledger = new DurableLedger(redisLedger, cassandraStore.accounts, shards);
  const cards = new DurableCardDirectory(redisCards, cassandraStore.cards);
  const finalShards = shards;
  const finalRedisLedger = redisLedger;
  const finalRedisCards = redisCards;
  const health = (): Record<string, boolean> => ({
    redis: finalRedisLedger.isConnected() && finalRedisCards.isSubscribed(),
    etcd: finalShards.leaseId() !== undefined,
    cassandra: cassandraStore.client.getState().getConnectedHosts().length > 0,
  });
  new StoreMetrics(registry, {
    health,
    shardsWithoutOwner: () => {
      let missing = 0;
      for (let shard = 0; shard < shardCount; shard++) if (finalShards.currentToken(shard) === undefined) missing++;
      return missing;
    },
    shardsOwned: () => finalShards.ownedShards().length,
    journalBacklog: () => cassandraStore.journal?.backlogRecords ?? 0,
    decisionBatches: () => cassandraStore.cassandraDecisions.groupCommits,
  });
  const decisions = new TimedDecisionLog(cassandraStore.decisions, storeWriteDuration(registry, 'cassandra'));
  const reconciliation = new ReconciliationJob(redisLedger, cassandraStore.accounts, shards,
    cassandra.reconcileIntervalMs, logger.child({ job: 'reconciliation' }), registry);
  reconciliation.start();

  return {
    ledger, cards, shards, decisions, health,
    close: async () => {
      reconciliation.stop();
      // Ownership first, so another instance can take the shards while this one closes its clients.
      await finalShards.close();
      await cards.close();
      await ledger.close();
      await cassandraStore.close();
    },
  };
}
