/** The Cassandra store's public surface (docs/persistence.md). */
export { CassandraAccountStore, type AccountState, type StoredAccount } from './account-store';
export { AppendTimeoutError, CassandraDecisionLog, type CassandraDecisionLogOptions } from './cassandra-decision-log';
export { CassandraCardStore } from './card-store';
export { openCassandraStore, type CassandraStore } from './cassandra-store';
export { clientSettingsOf, connectCassandra, createCassandraClient, consistencyByName } from './client';
export { stanReference, type ReferenceKind } from './decision-rows';
export {
  effectsOf, foldBalance, foldHolds, type BalancePosting, type FoldedHold, type HoldMovement,
} from './hold-movements';
export {
  JournalBacklogFullError, JournalingDecisionLog, type JournalEvents, type JournalMode,
} from './journaling-decision-log';
export { isTransientCassandraError } from './transient-errors';
export { dropKeyspace, migrate, migrations, type Migration, type MigrationReport } from './migrations';
export {
  cassandraSettings, defaultCassandraSettings, type CassandraStoreSettings, type ConsistencyName,
  type JournalSettings, type ReplicationSettings, type WriteFailurePolicy,
} from './options';
export { scanTablesForPans, type PanFinding, type PanScanReport } from './pan-scan';
export { compareAccount, reconcileHolds, type HoldDifference, type ReconciliationReport } from './reconciliation';
export { IdempotentOnlyRetryPolicy } from './retry-policy';
export { rebuildShardFromCassandra, restoreShard, type RebuiltShard, type ShardRestoreTarget } from './shard-rebuild';
