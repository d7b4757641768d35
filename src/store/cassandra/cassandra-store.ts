/**
 * Everything the stack backend needs from Cassandra, opened in order: connect, migrate, then the
 * decision log under the configured write-failure policy, the account store and the card store, all
 * on one client (one connection pool per node).
 */
import type { Client } from 'cassandra-driver';
import type { DecisionLog } from '../../authorise/decision-log';
import { CassandraAccountStore } from './account-store';
import { defaultBatchGroupLimits } from './batch-group';
import { CassandraDecisionLog } from './cassandra-decision-log';
import { CassandraCardStore } from './card-store';
import { clientSettingsOf, connectCassandra, shutdownCassandra } from './client';
import { JournalingDecisionLog, type JournalEvents } from './journaling-decision-log';
import { migrate, type MigrationReport } from './migrations';
import type { CassandraStoreSettings } from './options';

export interface CassandraStore {
  client: Client;
  /** The DecisionLog to give the authoriser: Cassandra alone (decline) or behind the journal. */
  decisions: DecisionLog;
  cassandraDecisions: CassandraDecisionLog;
  /** Present under `writeFailurePolicy: journal`: its backlogRecords is the gauge to export. */
  journal: JournalingDecisionLog | undefined;
  accounts: CassandraAccountStore;
  cards: CassandraCardStore;
  migration: MigrationReport;
  close(): Promise<void>;
}

export async function openCassandraStore(settings: CassandraStoreSettings, events?: JournalEvents): Promise<CassandraStore> {
  const client = await connectCassandra(clientSettingsOf(settings));
  try {
    const migration = await migrate(client, settings.keyspace, settings.replication);
    const cassandraDecisions = new CassandraDecisionLog(client, {
      keyspace: settings.keyspace, holdExpiryDays: settings.holdExpiryDays,
      cardHistoryMonths: settings.cardHistoryMonths, appendTimeoutMs: settings.appendTimeoutMs,
      batchGroup: { ...defaultBatchGroupLimits, ...settings.groupCommit },
    });
    const journal = settings.writeFailurePolicy === 'journal'
      ? JournalingDecisionLog.open(cassandraDecisions, events === undefined
        ? { journal: settings.journal } : { journal: settings.journal, events })
      : undefined;
    const accounts = new CassandraAccountStore(client, {
      keyspace: settings.keyspace, shardCount: settings.shardCount, holdExpiryDays: settings.holdExpiryDays,
    });
    const cards = new CassandraCardStore(client, settings.keyspace);
    const decisions: DecisionLog = journal ?? cassandraDecisions;
    return {
      client, decisions, cassandraDecisions, journal, accounts, cards, migration,
      close: async () => {
        await decisions.close();
        await shutdownCassandra(client);
      },
    };
  } catch (error: unknown) {
    await shutdownCassandra(client).catch(() => undefined);
    throw error;
  }
}
