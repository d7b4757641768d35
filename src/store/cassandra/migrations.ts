/**
 * Versioned schema migrations, run at start-up. Each migration has a version and a list of CQL
 * statements; `schema_migrations` records the versions applied, so a second run executes no DDL.
 * Every statement is itself idempotent (IF NOT EXISTS), so a run that died between a statement and
 * its version row simply repeats that statement next time. A migration that alters a table stays
 * idempotent the same way: ALTER TABLE ... ADD IF NOT EXISTS (Cassandra 5.0).
 *
 * Table design and the partition bounds: docs/persistence.md.
 */
import type { Client } from 'cassandra-driver';
import { schemaOptions } from './client';
import type { ReplicationSettings } from './options';

export interface Migration {
  version: number;
  description: string;
  statements(keyspace: string): string[];
}

/**
 * Columns of a decision row as versions 1-2 wrote it, one per field; decisions, decisions_by_key and
 * decisions_by_card all carry the whole record. Version 3 writes the record as one `record` cell
 * instead and leaves these empty (decision-rows.ts says why); older rows keep them and still read.
 */
const decisionColumns = `
  decision_id text, idempotency_key text, kind text, mti text, account_id text, card_id text,
  pan_hash text, pan_masked text, response_code text, approval_code text,
  requested_minor bigint, approved_minor bigint, currency text, hold_id text, original_key text,
  stan text, rrn text, transmission_date_time text, acquirer_id text, stand_in boolean, overdrawn boolean,
  received_at timestamp, decided_at timestamp, shard int, fencing_token bigint`;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'decision log: decisions by account and day, lookups by idempotency key, by card, by scheme reference',
    statements: (ks) => [
      // The record of every answer. One partition per account per UTC day; decisions without an
      // account (unknown card) go to one of 256 buckets by PAN hash instead of one hot partition.
      `CREATE TABLE IF NOT EXISTS ${ks}.decisions (${decisionColumns}, day text,
        PRIMARY KEY ((account_id, day), decided_at, decision_id, idempotency_key))
        WITH CLUSTERING ORDER BY (decided_at DESC, decision_id DESC, idempotency_key ASC)`,
      // Duplicates and repeats (xx01): one row per key, written with the lookup TTL.
      `CREATE TABLE IF NOT EXISTS ${ks}.decisions_by_key (${decisionColumns},
        PRIMARY KEY (idempotency_key))`,
      // GET /v1/decisions?cardId=: one partition per card per UTC month, newest first.
      `CREATE TABLE IF NOT EXISTS ${ks}.decisions_by_card (${decisionColumns}, month text,
        PRIMARY KEY ((card_id, month), decided_at, decision_id, idempotency_key))
        WITH CLUSTERING ORDER BY (decided_at DESC, decision_id DESC, idempotency_key ASC)`,
      // Reversal matching by scheme references, scoped by the PAN hash: DE 32+11+7 ('stan'),
      // DE 37 ('rrn'), DE 38 ('approval'). All references of one decision share its partition.
      `CREATE TABLE IF NOT EXISTS ${ks}.decisions_by_reference (
        pan_hash text, reference_kind text, reference text, decided_at timestamp, idempotency_key text,
        decision_id text, account_id text, hold_id text, approved_minor bigint, response_code text,
        PRIMARY KEY ((pan_hash), reference_kind, reference, decided_at, idempotency_key))
        WITH CLUSTERING ORDER BY (reference_kind ASC, reference ASC, decided_at DESC, idempotency_key ASC)`,
    ],
  },
  {
    version: 2,
    description: 'accounts, balance postings, hold movements, cards: what Redis is rebuilt from',
    statements: (ks) => [
      // Accounts of a shard in one partition: a shard rebuild lists them with one query.
      `CREATE TABLE IF NOT EXISTS ${ks}.accounts (
        shard int, account_id text, currency text, balance_minor bigint, overdraft_minor bigint,
        balance_as_of timestamp, updated_at timestamp,
        PRIMARY KEY ((shard), account_id))`,
      // Every change of the posted balance after the account's balance_as_of: card postings (0200),
      // their refunds, admin credits and debits. One partition per account per UTC month.
      `CREATE TABLE IF NOT EXISTS ${ks}.account_postings (
        account_id text, month text, posted_at timestamp, posting_id text,
        amount_minor bigint, posting_kind text, hold_id text,
        PRIMARY KEY ((account_id, month), posted_at, posting_id))
        WITH CLUSTERING ORDER BY (posted_at DESC, posting_id ASC)`,
      // Hold movements: one row per decision that placed, grew, shrank or ended a hold, keyed by the
      // deciding message's idempotency key; a hold's state is the fold of its rows (hold-movements.ts).
      `CREATE TABLE IF NOT EXISTS ${ks}.holds (
        account_id text, hold_id text, idempotency_key text,
        card_id text, settlement text, delta_minor bigint, ends_as text,
        decided_at timestamp, expires_at timestamp, original_key text, rrn text, approval_code text,
        overdrawn boolean,
        PRIMARY KEY ((account_id), hold_id, idempotency_key))`,
      // Cards: the PAN only as its keyed hash and masked form; controls and limits as JSON text so a
      // new control is a code change, not a schema change.
      `CREATE TABLE IF NOT EXISTS ${ks}.cards (
        card_id text, pan_hash text, pan_masked text, expiry text, account_id text, status text,
        controls text, limits text, updated_at timestamp,
        PRIMARY KEY (card_id))`,
      `CREATE TABLE IF NOT EXISTS ${ks}.cards_by_pan_hash (
        pan_hash text, card_id text, pan_masked text, expiry text, account_id text, status text,
        controls text, limits text, updated_at timestamp,
        PRIMARY KEY (pan_hash))`,
    ],
  },
  {
    version: 3,
    description: 'decision records as one JSON cell: decisions, decisions_by_key, decisions_by_card gain record',
    // ADD IF NOT EXISTS (Cassandra 5.0) keeps the statement idempotent, as every migration must be.
    statements: (ks) => ['decisions', 'decisions_by_key', 'decisions_by_card'].map(
      (table) => `ALTER TABLE ${ks}.${table} ADD IF NOT EXISTS record text`),
  },
];

const KEYSPACE_PATTERN = /^[a-z][a-z0-9_]{0,47}$/;

/** Keyspace names go into CQL text, so only plain lower-case identifiers are accepted. */
export function checkKeyspaceName(keyspace: string): string {
  if (!KEYSPACE_PATTERN.test(keyspace)) {
    throw new Error(`keyspace must match ${KEYSPACE_PATTERN.source}, got ${JSON.stringify(keyspace)}`);
  }
  return keyspace;
}

function replicationCql(replication: ReplicationSettings): string {
  if (replication.class === 'SimpleStrategy') {
    if (!Number.isInteger(replication.replicationFactor) || replication.replicationFactor < 1) {
      throw new RangeError('replicationFactor must be a positive integer');
    }
    return `{'class': 'SimpleStrategy', 'replication_factor': ${replication.replicationFactor}}`;
  }
  const entries = Object.entries(replication.dataCentres);
  if (entries.length === 0) throw new RangeError('NetworkTopologyStrategy needs at least one data centre');
  const parts = entries.map(([dataCentre, factor]) => {
    if (!/^[A-Za-z0-9_.-]+$/.test(dataCentre)) throw new Error(`bad data centre name ${JSON.stringify(dataCentre)}`);
    if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`bad replication factor for ${dataCentre}`);
    return `'${dataCentre}': ${factor}`;
  });
  return `{'class': 'NetworkTopologyStrategy', ${parts.join(', ')}}`;
}

export interface MigrationReport {
  /** Versions this run applied. */
  applied: number[];
  /** Versions found already recorded. */
  alreadyApplied: number[];
}

/**
 * Creates the keyspace when missing and applies every migration not yet recorded. Run it from one
 * instance at a time (start-up before serving, or the elected instance): concurrent DDL from several
 * coordinators can leave a cluster in schema disagreement.
 */
export async function migrate(client: Client, keyspace: string, replication: ReplicationSettings,
  list: readonly Migration[] = migrations): Promise<MigrationReport> {
  const ks = checkKeyspaceName(keyspace);
  await client.execute(
    `CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${replicationCql(replication)} AND durable_writes = true`,
    [], schemaOptions);
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${ks}.schema_migrations (version int PRIMARY KEY, description text, applied_at timestamp)`,
    [], schemaOptions);
  const recorded = await client.execute(`SELECT version FROM ${ks}.schema_migrations`, [],
    { ...schemaOptions, prepare: false });
  const done = new Set<number>();
  for (const row of recorded.rows) done.add(Number(row.get('version')));

  const report: MigrationReport = { applied: [], alreadyApplied: [] };
  const ordered = [...list].sort((left, right) => left.version - right.version);
  for (const migration of ordered) {
    if (done.has(migration.version)) {
      report.alreadyApplied.push(migration.version);
      continue;
    }
    for (const statement of migration.statements(ks)) await client.execute(statement, [], schemaOptions);
    await client.execute(
      `INSERT INTO ${ks}.schema_migrations (version, description, applied_at) VALUES (?, ?, ?)`,
      [migration.version, migration.description, new Date()], { ...schemaOptions, prepare: true });
    report.applied.push(migration.version);
  }
  return report;
}

export async function dropKeyspace(client: Client, keyspace: string): Promise<void> {
  await client.execute(`DROP KEYSPACE IF EXISTS ${checkKeyspaceName(keyspace)}`, [], schemaOptions);
}
