// The journal policy (writeFailurePolicy: journal) against the real node, cut off from this test's
// client by a proxy mid-load: every append that resolved is in Cassandra once the node answers again,
// replaying twice changes nothing, a process killed with records still journaled has them replayed by
// the next one, and a full journal refuses (the authoriser then declines).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'cassandra-driver';
import type { DecisionRecord } from '../../../src/authorise/decision-log';
import { CassandraDecisionLog } from '../../../src/store/cassandra/cassandra-decision-log';
import { isDecisionRecord } from '../../../src/authorise/decision-log';
import { forEachBounded } from '../../../src/store/cassandra/shard-rebuild';
import {
  JournalBacklogFullError, JournalingDecisionLog,
} from '../../../src/store/cassandra/journaling-decision-log';
import { cassandraContactPoints } from '../../support/services';
import {
  CuttableProxy, decisionRecord, delay, dropTestKeyspace, openClient, openMigrated, testPans, testSettings,
  uniqueKeyspace, waitFor,
} from './support';

const WRITE_TIMEOUT_MS = 100;
const APPEND_TIMEOUT_MS = 150;
const LOAD_RECORDS = 600;
const LOAD_WORKERS = 16;
/** Pause between one worker's appends: ~16 / 40 ms = 400 decisions/s, light enough for 2 shared cores. */
const WORKER_PAUSE_MS = 40;

function logOptions(keyspace: string): { keyspace: string; holdExpiryDays: number; cardHistoryMonths: number; appendTimeoutMs: number } {
  return { keyspace, holdExpiryDays: 7, cardHistoryMonths: 3, appendTimeoutMs: APPEND_TIMEOUT_MS };
}

async function countRows(client: Client, keyspace: string, table: string): Promise<number> {
  const result = await client.execute(`SELECT COUNT(*) AS n FROM ${keyspace}.${table}`, [], { readTimeout: 20_000 });
  return Number(result.first()?.get('n'));
}

async function missingFromCassandra(stored: CassandraDecisionLog, records: readonly DecisionRecord[]): Promise<string[]> {
  const missing: string[] = [];
  await forEachBounded(records, 16, async (record: DecisionRecord) => {
    const found = await stored.findByIdempotencyKey(record.idempotencyKey);
    if (found === undefined) missing.push(record.idempotencyKey);
    else assert.deepEqual(found, record);
  });
  return missing;
}

function segmentFiles(directory: string): string[] {
  return readdirSync(directory).filter((name) => name.startsWith('segment-'));
}

describe('journal policy: nothing answered is lost when Cassandra goes away mid-load', () => {
  const keyspace = uniqueKeyspace('journal');
  const journalRoot = mkdtempSync(join(tmpdir(), 'decision-journal-'));
  let direct: Client;
  let stored: CassandraDecisionLog;
  let proxy: CuttableProxy;
  let proxied: Client;

  before(async () => {
    ({ client: direct } = await openMigrated(keyspace));
    stored = new CassandraDecisionLog(direct, { ...logOptions(keyspace), appendTimeoutMs: 5000 });
    proxy = await CuttableProxy.start(cassandraContactPoints[0] as string);
    proxied = await openClient(testSettings(keyspace, {
      contactPoints: [proxy.contactPoint], writeTimeoutMs: WRITE_TIMEOUT_MS, appendTimeoutMs: APPEND_TIMEOUT_MS,
      journal: { replayTimeoutMs: 1000 },
    }));
  });

  after(async () => {
    await proxied.shutdown();
    await proxy.close();
    await dropTestKeyspace(direct, keyspace);
    rmSync(journalRoot, { recursive: true, force: true });
  });

  it('has every resolved append in Cassandra after the node comes back, and a second replay changes nothing', async (t) => {
    const directory = join(journalRoot, 'load');
    const inner = new CassandraDecisionLog(proxied, logOptions(keyspace));
    const log = JournalingDecisionLog.open(inner, {
      journal: { directory, maxBacklogRecords: 100_000, replayIntervalMs: 200, replayConcurrency: 8 },
    });
    const resolved: DecisionRecord[] = [];
    const rejected: unknown[] = [];
    let issued = 0;
    let sawJournaling = false;
    const worker = async (): Promise<void> => {
      while (issued < LOAD_RECORDS) {
        const index = issued;
        issued += 1;
        const record = decisionRecord(testPans[index % testPans.length] as string, {
          accountId: `acct-load-${index % 20}`, cardId: `card-load-${index % 20}`,
          // Every fifth decision is a single-message payment, every seventh a decline: all kinds of rows.
          kind: index % 5 === 0 ? 'financial' : 'authorisation', mti: index % 5 === 0 ? '0200' : '0100',
          ...(index % 7 === 0 ? { responseCode: '51', approvedMinor: 0, approvalCode: '', holdId: '' } : {}),
        });
        try {
          await log.append(record);
          resolved.push(record);
        } catch (error: unknown) {
          rejected.push(error);
        }
        if (log.mode === 'journaling') sawJournaling = true;
        await delay(WORKER_PAUSE_MS);
      }
    };
    const cutter = async (): Promise<void> => {
      await waitFor(() => issued >= LOAD_RECORDS / 4, 20_000, 10);
      proxy.blackhole();
      await waitFor(() => issued >= LOAD_RECORDS / 2, 20_000, 10);
      proxy.refuse();
      await waitFor(() => issued >= (LOAD_RECORDS * 3) / 4, 20_000, 10);
      proxy.restore();
    };
    const workers: Promise<void>[] = [cutter()];
    for (let index = 0; index < LOAD_WORKERS; index += 1) workers.push(worker());
    await Promise.all(workers);

    assert.equal(rejected.length, 0, `appends rejected: ${rejected.map(String).join('; ')}`);
    assert.equal(resolved.length, LOAD_RECORDS);
    assert.ok(sawJournaling, 'the outage sent decisions to the journal');
    const drained = await waitFor(() => log.backlogRecords === 0 && log.mode === 'direct', 30_000, 100);
    assert.ok(drained, `backlog still ${log.backlogRecords} in mode ${log.mode}`);
    assert.ok(log.replayedRecords > 0, 'some records reached Cassandra by replay');
    t.diagnostic(`${LOAD_RECORDS} appends resolved, ${log.replayedRecords} of them through the journal`);
    assert.equal(log.deadLetterRecords, 0);
    assert.deepEqual(await missingFromCassandra(stored, resolved), []);

    const tables = ['decisions', 'decisions_by_key', 'decisions_by_card', 'decisions_by_reference', 'holds', 'account_postings'];
    const before = new Map<string, number>();
    for (const table of tables) before.set(table, await countRows(direct, keyspace, table));
    assert.equal(before.get('decisions'), LOAD_RECORDS);
    // Replay everything once more, as a replayer that crashed before deleting its segments would.
    await forEachBounded(resolved, 16, (record: DecisionRecord) => stored.write(record, 'patient'));
    for (const table of tables) assert.equal(await countRows(direct, keyspace, table), before.get(table), table);

    await log.close();
    assert.deepEqual(segmentFiles(directory), []);
  });

  it('replays on start what a killed process journaled but never replayed', async () => {
    const directory = join(journalRoot, 'killed');
    const count = 40;
    const child = spawn(process.execPath, [join(__dirname, 'journal-child.js'), directory, keyspace, String(count),
      cassandraContactPoints[0] as string], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, exitSignal) => resolve(exitSignal)));
    assert.equal(signal, 'SIGKILL', `child did not die as planned: ${stderr}`);
    const report: unknown = JSON.parse(stdout.trim());
    assert.ok(typeof report === 'object' && report !== null);
    const { mode, resolved } = report as { mode: string; resolved: unknown[] };
    assert.equal(mode, 'journaling');
    const records = resolved.filter(isDecisionRecord);
    assert.equal(records.length, count);
    assert.ok(segmentFiles(directory).length > 0, 'the killed process left its journal behind');
    assert.equal((await missingFromCassandra(stored, records)).length, count, 'nothing reached Cassandra before the kill');

    const inner = new CassandraDecisionLog(direct, { ...logOptions(keyspace), appendTimeoutMs: 5000 });
    const next = JournalingDecisionLog.open(inner, {
      journal: { directory, maxBacklogRecords: 10_000, replayIntervalMs: 200, replayConcurrency: 8 },
    });
    try {
      assert.equal(next.backlogRecords, count);
      // A repeat arriving before the replay is answered from the journal.
      const first = records[0] as DecisionRecord;
      assert.deepEqual(await next.findByIdempotencyKey(first.idempotencyKey), first);
      assert.ok(await waitFor(() => next.backlogRecords === 0, 20_000, 100), `backlog ${next.backlogRecords}`);
      assert.deepEqual(await missingFromCassandra(stored, records), []);
    } finally {
      await next.close();
    }
    assert.deepEqual(segmentFiles(directory), []);
  });

  it('refuses to journal past its bound, so the authoriser declines instead of piling up', async () => {
    const directory = join(journalRoot, 'full');
    const inner = new CassandraDecisionLog(proxied, logOptions(keyspace));
    const log = JournalingDecisionLog.open(inner, {
      // A replay interval longer than the test: the backlog cannot drain while it fills.
      journal: { directory, maxBacklogRecords: 5, replayIntervalMs: 3_600_000, replayConcurrency: 2 },
    });
    proxy.refuse();
    try {
      for (let index = 0; index < 5; index += 1) await log.append(decisionRecord(testPans[0] as string));
      assert.equal(log.backlogRecords, 5);
      await assert.rejects(log.append(decisionRecord(testPans[0] as string)), JournalBacklogFullError);
    } finally {
      proxy.restore();
      await log.close();
    }
    // Closed with a backlog: the records stay on disk for the next start.
    assert.ok(segmentFiles(directory).length > 0);
  });
});
