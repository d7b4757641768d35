// Schema migrations against the real Cassandra node: from an empty keyspace, again (a no-op), and
// a later version on top of recorded ones.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';
import { dropKeyspace, migrate, migrations, type Migration } from '../../../src/store/cassandra/migrations';
import { openClient, testSettings, uniqueKeyspace } from './support';

const expectedTables = [
  'account_postings', 'accounts', 'cards', 'cards_by_pan_hash', 'decisions', 'decisions_by_card', 'decisions_by_key',
  'decisions_by_reference', 'holds', 'schema_migrations',
];

async function tablesOf(client: Client, keyspace: string): Promise<string[]> {
  const result = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?',
    [keyspace], { prepare: true });
  return result.rows.map((row) => String(row.get('table_name'))).sort();
}

async function recordedVersions(client: Client, keyspace: string): Promise<Map<number, number>> {
  const result = await client.execute(`SELECT version, applied_at FROM ${keyspace}.schema_migrations`);
  const versions = new Map<number, number>();
  for (const row of result.rows) versions.set(Number(row.get('version')), (row.get('applied_at') as Date).getTime());
  return versions;
}

describe('Cassandra schema migrations', () => {
  const keyspace = uniqueKeyspace('migrations');
  const settings = testSettings(keyspace);
  let client: Client;

  before(async () => {
    client = await openClient(settings);
  });

  after(async () => {
    await dropKeyspace(client, keyspace);
    await client.shutdown();
  });

  it('creates the keyspace with the configured replication and every table from empty, recording each version', async () => {
    const report = await migrate(client, keyspace, { class: 'SimpleStrategy', replicationFactor: 1 });
    assert.deepEqual(report.applied, migrations.map((migration) => migration.version));
    assert.deepEqual(report.alreadyApplied, []);
    assert.deepEqual(await tablesOf(client, keyspace), expectedTables);
    const replication = await client.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?',
      [keyspace], { prepare: true });
    const strategy = replication.first()?.get('replication') as Record<string, string>;
    assert.match(strategy['class'] ?? '', /SimpleStrategy$/);
    assert.equal(strategy['replication_factor'], '1');
    const versions = await recordedVersions(client, keyspace);
    assert.deepEqual([...versions.keys()].sort(), migrations.map((migration) => migration.version));
  });

  it('applies nothing when run again: versions and their applied times stay as they were', async () => {
    const before = await recordedVersions(client, keyspace);
    const report = await migrate(client, keyspace, { class: 'SimpleStrategy', replicationFactor: 1 });
    assert.deepEqual(report.applied, []);
    assert.deepEqual(report.alreadyApplied, migrations.map((migration) => migration.version));
    assert.deepEqual(await recordedVersions(client, keyspace), before);
    assert.deepEqual(await tablesOf(client, keyspace), expectedTables);
  });

  it('applies only a new version on top of the recorded ones', async () => {
    const extra: Migration = {
      version: 99,
      description: 'test-only table',
      statements: (ks) => [`CREATE TABLE IF NOT EXISTS ${ks}.migration_probe (id text PRIMARY KEY)`],
    };
    const report = await migrate(client, keyspace, { class: 'SimpleStrategy', replicationFactor: 1 }, [...migrations, extra]);
    assert.deepEqual(report.applied, [99]);
    assert.ok((await tablesOf(client, keyspace)).includes('migration_probe'));
    assert.ok((await recordedVersions(client, keyspace)).has(99));
  });

  it('repeats a version whose statements ran but whose record was lost, without error', async () => {
    // A run that died after its DDL and before its version row: IF NOT EXISTS makes the repeat safe.
    await client.execute(`DELETE FROM ${keyspace}.schema_migrations WHERE version = 2`);
    const report = await migrate(client, keyspace, { class: 'SimpleStrategy', replicationFactor: 1 });
    assert.deepEqual(report.applied, [2]);
    assert.ok((await recordedVersions(client, keyspace)).has(2));
  });

  it('refuses a keyspace name that is not a plain identifier (it goes into CQL text)', async () => {
    await assert.rejects(migrate(client, 'bad-name; DROP', { class: 'SimpleStrategy', replicationFactor: 1 }),
      /keyspace must match/);
  });
});
