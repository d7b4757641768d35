// PAN protection at rest, checked against the real tables: after decisions, cards, accounts, holds and
// postings are written from records built on test PANs, no table holds any of those PANs in clear.
// A control table holding one PAN in clear proves the scan would see one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';
import { maskPan } from '../../../src/authorise/pan-protection';
import { CassandraAccountStore } from '../../../src/store/cassandra/account-store';
import { CassandraCardStore } from '../../../src/store/cassandra/card-store';
import { CassandraDecisionLog } from '../../../src/store/cassandra/cassandra-decision-log';
import { scanTablesForPans } from '../../../src/store/cassandra/pan-scan';
import {
  decisionRecord, dropTestKeyspace, openMigrated, panHasher, testCard, testPans, uniqueKeyspace,
} from './support';

describe('PAN scan over every Cassandra table', () => {
  const keyspace = uniqueKeyspace('panscan');
  let client: Client;
  let cards: CassandraCardStore;

  before(async () => {
    ({ client } = await openMigrated(keyspace));
    cards = new CassandraCardStore(client, keyspace);
  });

  after(async () => {
    await dropTestKeyspace(client, keyspace);
  });

  it('keeps cards by id and by PAN hash, replaces a reissued card, and applies patches', async () => {
    const pan = testPans[0] as string;
    const card = testCard(pan, 'acct-cards', 'card-original');
    await cards.put(card);
    assert.deepEqual(await cards.getByPanHash(panHasher.hash(pan)), card);
    assert.deepEqual(await cards.getById('card-original'), card);
    const reissued = { ...card, cardId: 'card-reissued', expiry: '3105' };
    await cards.put(reissued);
    assert.equal(await cards.getById('card-original'), undefined);
    assert.deepEqual(await cards.getByPanHash(panHasher.hash(pan)), reissued);
    const frozen = await cards.patch('card-reissued', { status: 'blocked', controls: { frozen: true }, limits: { atmDailyCount: 2 } });
    assert.equal(frozen?.status, 'blocked');
    assert.equal(frozen?.controls.frozen, true);
    assert.equal(frozen?.controls.gamblingBlock, false);
    assert.equal(frozen?.limits.atmDailyCount, 2);
    assert.deepEqual(await cards.getByPanHash(panHasher.hash(pan)), frozen);
    assert.equal(await cards.patch('card-missing', { status: 'lost' }), undefined);
  });

  it('finds no test PAN in clear after decisions, cards, accounts, holds and postings were written', async () => {
    const decisions = new CassandraDecisionLog(client, { keyspace, holdExpiryDays: 7, cardHistoryMonths: 3, appendTimeoutMs: 5000 });
    const accounts = new CassandraAccountStore(client, { keyspace, shardCount: 4, holdExpiryDays: 7 });
    for (const [index, pan] of testPans.entries()) {
      const accountId = `acct-pan-${index}`;
      await cards.put(testCard(pan, accountId, `card-pan-${index}`));
      await accounts.putAccount({ accountId, currency: '826', balanceMinor: 10_000, overdraftMinor: 0 });
      const approval = decisionRecord(pan, { accountId, cardId: `card-pan-${index}` });
      await decisions.append(approval);
      await decisions.append(decisionRecord(pan, {
        accountId, cardId: `card-pan-${index}`, kind: 'financial', mti: '0200', holdId: '',
      }));
      await decisions.append(decisionRecord(pan, {
        accountId, cardId: `card-pan-${index}`, kind: 'reversal', mti: '0400', holdId: approval.holdId,
        originalKey: approval.idempotencyKey, approvalCode: '',
      }));
      await decisions.append(decisionRecord(pan, {
        accountId: '', cardId: '', responseCode: '14', approvedMinor: 0, approvalCode: '', holdId: '',
      }));
      await accounts.recordCredit(accountId, 500, `credit-${index}`);
    }
    const report = await scanTablesForPans(client, keyspace, testPans);
    assert.deepEqual(report.findings, []);
    for (const table of ['decisions', 'decisions_by_key', 'decisions_by_card', 'decisions_by_reference', 'holds',
      'account_postings', 'accounts', 'cards', 'cards_by_pan_hash']) {
      assert.ok(report.tablesScanned.includes(table), `${table} scanned`);
    }
    assert.ok(report.rowsScanned >= testPans.length * 10, `rows scanned: ${report.rowsScanned}`);
    // The masked form is what is kept for display.
    const stored = await client.execute(`SELECT pan_masked FROM ${keyspace}.cards_by_pan_hash`);
    assert.ok(stored.rows.every((row) => /^\d{6}\*+\d{4}$/.test(String(row.get('pan_masked')))));
  });

  it('reports a PAN stored in clear, masked in the finding', async () => {
    const leaked = testPans[2] as string;
    await client.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.pan_scan_control (id text PRIMARY KEY, note text, digits bigint)`);
    await client.execute(`INSERT INTO ${keyspace}.pan_scan_control (id, note, digits) VALUES (?, ?, ?)`,
      ['leak', `track data ${leaked}=2512`, leaked], { prepare: true });
    const report = await scanTablesForPans(client, keyspace, testPans);
    assert.deepEqual(report.findings, [
      { table: 'pan_scan_control', column: 'digits', panMasked: maskPan(leaked) },
      { table: 'pan_scan_control', column: 'note', panMasked: maskPan(leaked) },
    ]);
    assert.ok(report.findings.every((finding) => !JSON.stringify(finding).includes(leaked)));
  });
});
