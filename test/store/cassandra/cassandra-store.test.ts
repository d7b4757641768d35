// openCassandraStore: connect, migrate, and the decision log the configured write-failure policy asks
// for, on the real node.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CassandraDecisionLog } from '../../../src/store/cassandra/cassandra-decision-log';
import { openCassandraStore } from '../../../src/store/cassandra/cassandra-store';
import { JournalingDecisionLog } from '../../../src/store/cassandra/journaling-decision-log';
import { dropKeyspace, migrations } from '../../../src/store/cassandra/migrations';
import { decisionRecord, openClient, testPans, testSettings, uniqueKeyspace } from './support';

describe('openCassandraStore', () => {
  const keyspace = uniqueKeyspace('store');
  const journalDirectory = mkdtempSync(join(tmpdir(), 'store-journal-'));

  after(async () => {
    const client = await openClient(testSettings(keyspace));
    try {
      await dropKeyspace(client, keyspace);
    } finally {
      await client.shutdown();
      rmSync(journalDirectory, { recursive: true, force: true });
    }
  });

  it('migrates on first open and answers from Cassandra alone under the decline policy', async () => {
    const store = await openCassandraStore(testSettings(keyspace, { writeFailurePolicy: 'decline' }));
    try {
      assert.deepEqual(store.migration.applied, migrations.map((migration) => migration.version));
      assert.ok(store.decisions instanceof CassandraDecisionLog);
      assert.equal(store.journal, undefined);
      const record = decisionRecord(testPans[0] as string);
      await store.decisions.append(record);
      assert.deepEqual(await store.decisions.findByIdempotencyKey(record.idempotencyKey), record);
    } finally {
      await store.close();
    }
  });

  it('applies no migration on a second open and puts the journal in front under the journal policy', async () => {
    const store = await openCassandraStore(testSettings(keyspace, {
      writeFailurePolicy: 'journal', journal: { directory: journalDirectory },
    }));
    try {
      assert.deepEqual(store.migration.applied, []);
      assert.ok(store.decisions instanceof JournalingDecisionLog);
      assert.equal(store.journal?.mode, 'direct');
      assert.equal(store.journal?.backlogRecords, 0);
      const record = decisionRecord(testPans[1] as string);
      await store.decisions.append(record);
      assert.deepEqual(await store.cassandraDecisions.findByIdempotencyKey(record.idempotencyKey), record);
    } finally {
      await store.close();
    }
  });
});
