// A gateway-like process for the journal restart test: it journals decisions while its Cassandra is
// cut off, prints the records whose append resolved, and is killed with SIGKILL before any replay,
// as a crashed gateway would be.
//
// usage: node journal-child.js <journalDirectory> <keyspace> <count> <cassandraHost:port>
import { writeSync } from 'node:fs';
import { CassandraDecisionLog } from '../../../src/store/cassandra/cassandra-decision-log';
import { JournalingDecisionLog } from '../../../src/store/cassandra/journaling-decision-log';
import { CuttableProxy, decisionRecord, openClient, testPans, testSettings } from './support';

async function main(): Promise<void> {
  const [directory, keyspace, countText, target] = process.argv.slice(2);
  if (directory === undefined || keyspace === undefined || countText === undefined || target === undefined) {
    throw new Error('usage: journal-child <journalDirectory> <keyspace> <count> <host:port>');
  }
  const proxy = await CuttableProxy.start(target);
  const settings = testSettings(keyspace, { contactPoints: [proxy.contactPoint], writeTimeoutMs: 100, appendTimeoutMs: 150 });
  const client = await openClient(settings);
  const inner = new CassandraDecisionLog(client, { keyspace, holdExpiryDays: 7, cardHistoryMonths: 3, appendTimeoutMs: 150 });
  // A replay interval far beyond this process's life: nothing may reach Cassandra from here.
  const log = JournalingDecisionLog.open(inner, {
    journal: { directory, maxBacklogRecords: 10_000, replayIntervalMs: 3_600_000, replayConcurrency: 4 },
  });
  proxy.refuse();
  const resolved = [];
  for (let index = 0; index < Number(countText); index += 1) {
    const record = decisionRecord(testPans[index % testPans.length] as string, {
      accountId: `acct-child-${index % 5}`, cardId: `card-child-${index % 5}`,
    });
    await log.append(record);
    resolved.push(record);
  }
  // Synchronous write: the kill below must not race an asynchronous stdout flush.
  writeSync(1, `${JSON.stringify({ mode: log.mode, backlog: log.backlogRecords, resolved })}\n`);
  process.kill(process.pid, 'SIGKILL');
}

main().catch((error: unknown) => {
  writeSync(2, `journal-child failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
