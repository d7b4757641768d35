// Measures CassandraDecisionLog.append on the test node at consistency ONE: p50/p99 for sequential
// appends and for 64 in flight. Each record is an approved authorisation, the hot path's usual
// record: 5 writes (decision, by key, by card, the references batch, the hold movement).
// Not a test: run by hand (docs/persistence.md has the figures and the command).
//
//   npm run build && node dist/test/store/cassandra/measure-append-latency.js [sequential] [concurrentTotal] [inFlight]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CassandraDecisionLog } from '../../../src/store/cassandra/cassandra-decision-log';
import { DecisionJournal } from '../../../src/store/cassandra/decision-journal';
import { decisionRecord, dropTestKeyspace, openMigrated, percentile, testPans, uniqueKeyspace } from './support';

const WARM_UP = 300;
/** The hot-path bound the production default sets (options.ts appendTimeoutMs). */
const BUDGET_MS = 35;

interface Summary {
  label: string;
  count: number;
  seconds: number;
  latenciesMs: number[];
}

function report(summary: Summary): string {
  const sorted = [...summary.latenciesMs].sort((left, right) => left - right);
  const over = sorted.filter((value) => value > BUDGET_MS).length;
  const fixed = (value: number): string => value.toFixed(2);
  return `${summary.label}: n=${summary.count} ${Math.round(summary.count / summary.seconds)}/s `
    + `p50=${fixed(percentile(sorted, 0.5))} p90=${fixed(percentile(sorted, 0.9))} p99=${fixed(percentile(sorted, 0.99))} `
    + `p99.9=${fixed(percentile(sorted, 0.999))} max=${fixed(sorted[sorted.length - 1] ?? Number.NaN)} ms; `
    + `over ${BUDGET_MS} ms: ${over}`;
}

async function timedAppend(log: CassandraDecisionLog, index: number, into: number[]): Promise<void> {
  const record = decisionRecord(testPans[index % testPans.length] as string, {
    accountId: `acct-bench-${index % 500}`, cardId: `card-bench-${index % 500}`,
  });
  const started = process.hrtime.bigint();
  await log.append(record);
  into.push(Number(process.hrtime.bigint() - started) / 1e6);
}

/** The journal alone (what an append costs under the journal policy while Cassandra is away). */
async function measureJournal(count: number, inFlight: number): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'journal-bench-'));
  const journal = DecisionJournal.open(directory);
  try {
    for (const [label, workers] of [['journal sequential', 1], [`journal ${inFlight} in flight`, inFlight]] as const) {
      const latencies: number[] = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          next += 1;
          const record = decisionRecord(testPans[next % testPans.length] as string);
          const started = process.hrtime.bigint();
          await journal.append(record);
          latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
      };
      const started = Date.now();
      await Promise.all(Array.from({ length: workers }, () => worker()));
      console.log(report({ label, count, seconds: (Date.now() - started) / 1000, latenciesMs: latencies }));
      await journal.rotate();
    }
  } finally {
    await journal.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sequentialCount = Number(process.argv[2] ?? 3000);
  const concurrentCount = Number(process.argv[3] ?? 6400);
  const inFlight = Number(process.argv[4] ?? 64);
  const keyspace = uniqueKeyspace('bench');
  const { client } = await openMigrated(keyspace);
  // A generous bound so the true distribution is measured; "over 35 ms" counts what the default bound would reject.
  const log = new CassandraDecisionLog(client, { keyspace, holdExpiryDays: 7, cardHistoryMonths: 3, appendTimeoutMs: 5000 });
  try {
    const warm: number[] = [];
    for (let index = 0; index < WARM_UP; index += 1) await timedAppend(log, index, warm);

    const sequential: number[] = [];
    let started = Date.now();
    for (let index = 0; index < sequentialCount; index += 1) await timedAppend(log, index, sequential);
    console.log(report({ label: 'sequential', count: sequentialCount, seconds: (Date.now() - started) / 1000, latenciesMs: sequential }));

    const concurrent: number[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < concurrentCount) {
        const index = next;
        next += 1;
        await timedAppend(log, index, concurrent);
      }
    };
    started = Date.now();
    await Promise.all(Array.from({ length: inFlight }, () => worker()));
    console.log(report({ label: `${inFlight} in flight`, count: concurrentCount, seconds: (Date.now() - started) / 1000, latenciesMs: concurrent }));
  } finally {
    await log.close();
    await dropTestKeyspace(client, keyspace);
  }
  await measureJournal(Math.min(sequentialCount, 2000), inFlight);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
