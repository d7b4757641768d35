// The Cassandra decision log against the real node: append then find by key, recent decisions per
// card (order, limit, month boundaries), references for reversal matching, idempotent re-appends,
// a restart (a new client) that still finds everything, the record as one JSON cell (schema version
// 3) and rows written one column per field before it, which still read.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';
import { CassandraDecisionLog } from '../../../src/store/cassandra/cassandra-decision-log';
import { recordFromText, stanReference } from '../../../src/store/cassandra/decision-rows';
import {
  decisionRecord, dropTestKeyspace, openClient, openMigrated, panHasher, testPans, uniqueKeyspace,
} from './support';
import type { CassandraStoreSettings } from '../../../src/store/cassandra/options';

const DAY_MS = 86_400_000;

function logOn(client: Client, settings: CassandraStoreSettings): CassandraDecisionLog {
  return new CassandraDecisionLog(client, {
    keyspace: settings.keyspace, holdExpiryDays: settings.holdExpiryDays,
    cardHistoryMonths: settings.cardHistoryMonths, appendTimeoutMs: settings.appendTimeoutMs,
  });
}

describe('CassandraDecisionLog', () => {
  const keyspace = uniqueKeyspace('decisions');
  let client: Client;
  let settings: CassandraStoreSettings;
  let log: CassandraDecisionLog;

  before(async () => {
    ({ client, settings } = await openMigrated(keyspace));
    log = logOn(client, settings);
  });

  after(async () => {
    await log.close();
    await dropTestKeyspace(client, keyspace);
  });

  it('finds an appended record by its idempotency key, every field as written', async () => {
    const record = decisionRecord(testPans[0] as string, { overdrawn: true, fencingToken: 2 ** 40 });
    await log.append(record);
    assert.deepEqual(await log.findByIdempotencyKey(record.idempotencyKey), record);
    assert.equal(await log.findByIdempotencyKey('10:never:000000:0000000000'), undefined);
  });

  it('returns a card\'s decisions newest first, as many as asked, across month partitions', async () => {
    const cardId = `card-recent-${Date.now()}`;
    const nowMs = Date.UTC(2026, 2, 2, 12);
    // Five decisions spread over the month boundary (two in February, three in March).
    const times = [nowMs - 3 * DAY_MS, nowMs - 2 * DAY_MS, nowMs - 30 * 60_000, nowMs - 20 * 60_000, nowMs - 10 * 60_000];
    const written = times.map((decidedAtMs) => decisionRecord(testPans[1] as string, { cardId, decidedAtMs }));
    // Appended out of order: the table's clustering order, not arrival, decides the answer.
    for (const record of [written[2], written[0], written[4], written[1], written[3]]) {
      if (record !== undefined) await log.append(record);
    }
    const newestFirst = [...written].reverse().map((record) => record.idempotencyKey);
    const all = await log.recentForCard(cardId, 10, nowMs);
    assert.deepEqual(all.map((record) => record.idempotencyKey), newestFirst);
    const three = await log.recentForCard(cardId, 3, nowMs);
    assert.deepEqual(three.map((record) => record.idempotencyKey), newestFirst.slice(0, 3));
    const four = await log.recentForCard(cardId, 4, nowMs);
    assert.deepEqual(four.map((record) => record.idempotencyKey), newestFirst.slice(0, 4));
    assert.deepEqual(await log.recentForCard('card-without-decisions', 5, nowMs), []);
    assert.deepEqual(await log.recentForCard(cardId, 0, nowMs), []);
  });

  it('keeps a decision without an account (unknown card) and reads it back with an empty account', async () => {
    const record = decisionRecord(testPans[2] as string, {
      accountId: '', cardId: '', responseCode: '14', approvalCode: '', approvedMinor: 0, holdId: '', shard: -1,
      fencingToken: 0,
    });
    await log.append(record);
    assert.deepEqual(await log.findByIdempotencyKey(record.idempotencyKey), record);
    const partition = `~${record.panHash.slice(0, 2)}`;
    const day = new Date(record.decidedAtMs).toISOString().slice(0, 10).replace(/-/g, '');
    const rows = await log.decisionsOfAccountDay(partition, day);
    assert.ok(rows.some((row) => row.idempotencyKey === record.idempotencyKey && row.accountId === ''));
  });

  it('finds an approval by DE 37, DE 38 and DE 32+11+7 on the same card, and not on another card', async () => {
    const pan = testPans[3] as string;
    const record = decisionRecord(pan, { approvalCode: 'Z9Y8X7' });
    await log.append(record);
    const panHash = panHasher.hash(pan);
    const byRrn = await log.findByReference(panHash, 'rrn', record.rrn);
    assert.deepEqual(byRrn.map((found) => found.idempotencyKey), [record.idempotencyKey]);
    const byApproval = await log.findByReference(panHash, 'approval', 'Z9Y8X7');
    assert.ok(byApproval.some((found) => found.idempotencyKey === record.idempotencyKey));
    const byStan = await log.findByReference(panHash, 'stan',
      stanReference(record.acquirerId, record.stan, record.transmissionDateTime));
    assert.deepEqual(byStan.map((found) => found.idempotencyKey), [record.idempotencyKey]);
    assert.deepEqual(await log.findByReference(panHasher.hash(testPans[4] as string), 'rrn', record.rrn), []);
  });

  it('writes no reference rows for a decline (nothing to reverse)', async () => {
    const pan = testPans[3] as string;
    const record = decisionRecord(pan, { responseCode: '51', approvalCode: '', approvedMinor: 0, holdId: '' });
    await log.append(record);
    assert.deepEqual(await log.findByReference(panHasher.hash(pan), 'rrn', record.rrn), []);
    assert.deepEqual(await log.findByIdempotencyKey(record.idempotencyKey), record);
  });

  it('leaves one row per table when the same record is appended twice (a retry or a replay)', async () => {
    const cardId = `card-twice-${Date.now()}`;
    const record = decisionRecord(testPans[0] as string, { cardId, accountId: `acct-twice-${Date.now()}` });
    await log.append(record);
    await log.append(record);
    await log.write(record, 'patient');
    assert.equal((await log.recentForCard(cardId, 10)).length, 1);
    const day = new Date(record.decidedAtMs).toISOString().slice(0, 10).replace(/-/g, '');
    assert.equal((await log.decisionsOfAccountDay(record.accountId, day)).length, 1);
    const holds = await client.execute(`SELECT * FROM ${keyspace}.holds WHERE account_id = ?`, [record.accountId],
      { prepare: true });
    assert.equal(holds.rowLength, 1);
  });

  it('keeps every row of a hold past the later expiry an incremental authorisation gives it', async () => {
    const accountId = `acct-incremental-${Date.now()}`;
    const original = decisionRecord(testPans[1] as string, { accountId });
    await log.append(original);
    // Three days later (as the record says) an incremental grows the hold and moves its expiry.
    const increment = decisionRecord(testPans[1] as string, {
      accountId, holdId: original.holdId, decisionId: original.holdId, originalKey: original.idempotencyKey,
      approvedMinor: 500, requestedMinor: 500, decidedAtMs: original.decidedAtMs + 3 * DAY_MS,
    });
    await log.append(increment);
    const rows = await client.execute(`SELECT idempotency_key, TTL(card_id) AS ttl FROM ${keyspace}.holds
      WHERE account_id = ? AND hold_id = ?`, [accountId, original.holdId], { prepare: true });
    assert.equal(rows.rowLength, 2);
    const lookupTtl = (settings.holdExpiryDays + 2) * 86_400;
    for (const row of rows.rows) {
      // Both rows now live until the new expiry plus the margin: about three days more than the lookup TTL.
      assert.ok(Number(row.get('ttl')) > lookupTtl + 3 * 86_400 - 120, `${String(row.get('idempotency_key'))}: ${String(row.get('ttl'))}`);
    }
  });

  it('still finds decisions by key, card and reference from a new client after a restart', async () => {
    const pan = testPans[4] as string;
    const cardId = `card-restart-${Date.now()}`;
    const records = [1, 2, 3].map((step) => decisionRecord(pan, { cardId, decidedAtMs: Date.now() - step * 1000 }));
    for (const record of records) await log.append(record);

    const restartedClient = await openClient(settings);
    const restarted = logOn(restartedClient, settings);
    try {
      for (const record of records) assert.deepEqual(await restarted.findByIdempotencyKey(record.idempotencyKey), record);
      const recent = await restarted.recentForCard(cardId, 10);
      assert.deepEqual(recent.map((record) => record.idempotencyKey), records.map((record) => record.idempotencyKey));
      const first = records[0];
      assert.ok(first !== undefined);
      const byRrn = await restarted.findByReference(panHasher.hash(pan), 'rrn', first.rrn);
      assert.deepEqual(byRrn, [first]);
    } finally {
      await restarted.close();
      await restartedClient.shutdown();
    }
  });

  it('writes the record as one JSON cell beside the key columns, leaving the per-field columns empty', async () => {
    const record = decisionRecord(testPans[1] as string, { cardId: `card-cell-${Date.now()}` });
    await log.append(record);
    for (const table of ['decisions_by_key', 'decisions_by_card', 'decisions']) {
      const where = table === 'decisions_by_key' ? 'idempotency_key = ?'
        : table === 'decisions_by_card' ? 'card_id = ? AND month = ?' : 'account_id = ? AND day = ?';
      const decidedAt = new Date(record.decidedAtMs).toISOString();
      const params = table === 'decisions_by_key' ? [record.idempotencyKey]
        : table === 'decisions_by_card' ? [record.cardId, decidedAt.slice(0, 7).replace('-', '')]
          : [record.accountId, decidedAt.slice(0, 10).replace(/-/g, '')];
      const rows = await client.execute(`SELECT idempotency_key, record, response_code, pan_hash, approved_minor
        FROM ${keyspace}.${table} WHERE ${where}`, params, { prepare: true });
      const row = rows.rows.find((candidate) => candidate.get('idempotency_key') === record.idempotencyKey);
      assert.ok(row !== undefined, table);
      assert.deepEqual(recordFromText(String(row.get('record'))), record, table);
      assert.equal(row.get('response_code'), null, table);
      assert.equal(row.get('pan_hash'), null, table);
      assert.equal(row.get('approved_minor'), null, table);
    }
  });

  it('reads a record written before schema version 3, one column per field, by key, by card and by account day', async () => {
    const record = decisionRecord(testPans[2] as string, {
      cardId: `card-legacy-${Date.now()}`, accountId: `acct-legacy-${Date.now()}`, standIn: true, fencingToken: 2 ** 35,
    });
    const columns = `decision_id, idempotency_key, kind, mti, account_id, card_id, pan_hash, pan_masked, response_code,
      approval_code, requested_minor, approved_minor, currency, hold_id, original_key, stan, rrn,
      transmission_date_time, acquirer_id, stand_in, overdrawn, received_at, decided_at, shard, fencing_token`;
    const values = [
      record.decisionId, record.idempotencyKey, record.kind, record.mti, record.accountId, record.cardId,
      record.panHash, record.panMasked, record.responseCode, record.approvalCode, record.requestedMinor,
      record.approvedMinor, record.currency, record.holdId, record.originalKey, record.stan, record.rrn,
      record.transmissionDateTime, record.acquirerId, record.standIn, record.overdrawn, record.receivedAtMs,
      record.decidedAtMs, record.shard, record.fencingToken,
    ];
    const markers = values.map(() => '?').join(', ');
    const decidedAt = new Date(record.decidedAtMs).toISOString();
    const day = decidedAt.slice(0, 10).replace(/-/g, '');
    await client.execute(`INSERT INTO ${keyspace}.decisions_by_key (${columns}) VALUES (${markers})`, values, { prepare: true });
    await client.execute(`INSERT INTO ${keyspace}.decisions_by_card (${columns}, month) VALUES (${markers}, ?)`,
      [...values, decidedAt.slice(0, 7).replace('-', '')], { prepare: true });
    await client.execute(`INSERT INTO ${keyspace}.decisions (${columns}, day) VALUES (${markers}, ?)`,
      [...values, day], { prepare: true });
    assert.deepEqual(await log.findByIdempotencyKey(record.idempotencyKey), record);
    assert.deepEqual(await log.recentForCard(record.cardId, 5), [record]);
    assert.deepEqual(await log.decisionsOfAccountDay(record.accountId, day), [record]);
  });

  it('group-commits appends made together: fewer batches than decisions, and every record reads back whole', async () => {
    const cardId = `card-grouped-${Date.now()}`;
    const records = Array.from({ length: 30 }, (_, index) =>
      decisionRecord(testPans[index % testPans.length] as string, { cardId, decidedAtMs: Date.now() - index }));
    const before = log.groupCommits;
    await Promise.all(records.map((record) => log.append(record)));
    const after = log.groupCommits;
    const batches = after.batches - before.batches;
    assert.equal(after.decisions - before.decisions, records.length);
    // One turn's appends leave together, at most 12 to a batch: 3 batches for 30.
    assert.ok(batches >= 3 && batches < records.length, `${batches} batches for ${records.length} decisions`);
    for (const record of records) assert.deepEqual(await log.findByIdempotencyKey(record.idempotencyKey), record);
    assert.equal((await log.recentForCard(cardId, 50)).length, records.length);
  });

  it('refuses appends after close', async () => {
    const closing = logOn(client, settings);
    await closing.close();
    await assert.rejects(closing.append(decisionRecord(testPans[0] as string)), /closed/);
  });
});
