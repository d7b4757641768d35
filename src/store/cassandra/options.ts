/**
 * Settings of the Cassandra store. The stack backend fills the ones `config.store.cassandra` names
 * (docs/persistence.md section 6); every setting has a default here, so tools and tests that give
 * only a few still get a deliberate, documented client.
 */
import { defaultBatchGroupLimits, type BatchGroupLimits } from './batch-group';

/** Consistency levels by name, as operators write them in config. */
export type ConsistencyName = 'ONE' | 'LOCAL_ONE' | 'LOCAL_QUORUM' | 'QUORUM' | 'EACH_QUORUM' | 'ALL';

/** What happens when Cassandra cannot take a decision inside the budget (docs/persistence.md). */
export type WriteFailurePolicy = 'decline' | 'journal';

export type ReplicationSettings =
  | { class: 'SimpleStrategy'; replicationFactor: number }
  | { class: 'NetworkTopologyStrategy'; dataCentres: Record<string, number> };

export interface JournalSettings {
  /** One directory per gateway instance: segments of journaled decisions plus a lock file. */
  directory: string;
  /** Past this many unreplayed records, appends reject (the authoriser declines 91): bounds memory and disk. */
  maxBacklogRecords: number;
  /** How often the replayer tries Cassandra while records wait in the journal. */
  replayIntervalMs: number;
  /** Records replayed in parallel: enough to drain fast, few enough to leave room for live traffic. */
  replayConcurrency: number;
  /** Client timeout for one replayed write: replay is off the hot path, so it can wait for a slow node. */
  replayTimeoutMs: number;
}

export interface CassandraStoreSettings {
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  replication: ReplicationSettings;
  /** LOCAL_QUORUM in production (RF 3: survives one replica down); ONE on the single test node. */
  writeConsistency: ConsistencyName;
  readConsistency: ConsistencyName;
  /** Client timeout of one decision write attempt; must fit the authorisation budget. */
  writeTimeoutMs: number;
  /** Whole-append bound (all rows, any retry); append rejects when it passes. */
  appendTimeoutMs: number;
  /** Client timeout of one read (repeat lookups, recent decisions, rebuild). */
  readTimeoutMs: number;
  connectTimeoutMs: number;
  /** Retries of an idempotent statement on the next host after a timeout or connection error. */
  maxRetries: number;
  /** 0 = off. Otherwise a second execution of an idempotent statement after this delay (needs RF > 1 to help). */
  speculativeDelayMs: number;
  /** Reconnection to a node marked down: first delay, doubling up to the maximum. */
  reconnectBaseDelayMs: number;
  reconnectMaxDelayMs: number;
  writeFailurePolicy: WriteFailurePolicy;
  journal: JournalSettings;
  /** Days a hold stays pending (config.authorise.holdExpiryDays): sizes TTLs and hold expiries. */
  holdExpiryDays: number;
  /** Months looked back for GET /v1/decisions?cardId= (the by-card rows live this long plus one month). */
  cardHistoryMonths: number;
  /** Shards of the account space (config.authorise.shardCount): accounts are partitioned by shard. */
  shardCount: number;
  /** Group commit of hot decision batches (batch-group.ts). */
  groupCommit: Pick<BatchGroupLimits, 'batchesInFlight' | 'decisionsPerBatch'>;
}

const DAY_S = 86_400;

export const defaultCassandraSettings: CassandraStoreSettings = {
  contactPoints: ['127.0.0.1:19042'],
  localDataCenter: 'datacenter1',
  keyspace: 'gateway',
  replication: { class: 'SimpleStrategy', replicationFactor: 1 },
  writeConsistency: 'LOCAL_QUORUM',
  readConsistency: 'LOCAL_QUORUM',
  // A 50 ms scheme budget leaves ~30 ms for the write after decode, rules and the Redis hold.
  writeTimeoutMs: 30,
  appendTimeoutMs: 35,
  readTimeoutMs: 100,
  connectTimeoutMs: 2000,
  // One retry on another replica: a second full timeout would already be outside the budget.
  maxRetries: 1,
  speculativeDelayMs: 0,
  reconnectBaseDelayMs: 200,
  // A node back after an outage is found within 5 s, so the journal drains soon after.
  reconnectMaxDelayMs: 5000,
  writeFailurePolicy: 'decline',
  journal: {
    directory: 'var/decision-journal',
    // ~100 s of 1,000 decisions/s; each backlog record is also indexed in memory (~1 KB).
    maxBacklogRecords: 100_000,
    replayIntervalMs: 1000,
    replayConcurrency: 16,
    replayTimeoutMs: 2000,
  },
  holdExpiryDays: 7,
  cardHistoryMonths: 3,
  shardCount: 64,
  groupCommit: {
    batchesInFlight: defaultBatchGroupLimits.batchesInFlight, decisionsPerBatch: defaultBatchGroupLimits.decisionsPerBatch,
  },
};

/** Defaults overlaid with what config gives; nested journal settings merge key by key. */
export function cassandraSettings(overrides: Partial<Omit<CassandraStoreSettings, 'journal'>> & {
  journal?: Partial<JournalSettings>;
}): CassandraStoreSettings {
  return {
    ...defaultCassandraSettings,
    ...overrides,
    journal: { ...defaultCassandraSettings.journal, ...overrides.journal },
  };
}

/**
 * TTL of lookup rows (by idempotency key, by reference, hold movements): a hold can be reversed,
 * repeated or matched until it expires, and the Redis ledger keeps idempotency outcomes one day
 * past that; one more day of margin covers clock skew and a late journal replay.
 */
export function lookupTtlSeconds(settings: Pick<CassandraStoreSettings, 'holdExpiryDays'>): number {
  return (settings.holdExpiryDays + 2) * DAY_S;
}

/** TTL of by-card rows: the months GET /v1/decisions looks back, plus one for the month in progress. */
export function cardHistoryTtlSeconds(settings: Pick<CassandraStoreSettings, 'cardHistoryMonths'>): number {
  return (settings.cardHistoryMonths + 1) * 31 * DAY_S;
}
