// The decline policy (writeFailurePolicy: decline): the Cassandra decision log alone. When the node
// hangs or refuses connections, append rejects inside its bound, so the authoriser answers 91 and
// releases the hold: no approval leaves without a row. The client reaches Cassandra through a proxy
// this test cuts, so the shared node keeps serving everyone else.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';
import { InMemoryCardDirectory } from '../../../src/authorise/card-directory';
import { MemoryLedger } from '../../../src/authorise/memory-ledger';
import { shardOfAccount } from '../../../src/authorise/shard-directory';
import { CassandraDecisionLog } from '../../../src/store/cassandra/cassandra-decision-log';
import { isTransientCassandraError } from '../../../src/store/cassandra/transient-errors';
import type { CassandraStoreSettings } from '../../../src/store/cassandra/options';
import { cassandraContactPoints } from '../../support/services';
import {
  CuttableProxy, authoriserOver, decisionRecord, dropTestKeyspace, openClient, openMigrated, schemeRequest,
  testCard, testPans, testSettings, uniqueKeyspace, waitFor,
} from './support';

/** Tight bounds, as on the hot path: the test checks the bound itself. */
const WRITE_TIMEOUT_MS = 100;
const APPEND_TIMEOUT_MS = 150;
/** A loaded 2-core machine may fire a timer late; more than this would be a missed bound, not jitter. */
const TIMER_SLACK_MS = 150;
const SHARD_COUNT = 4;

describe('decline policy: append rejects inside its bound when Cassandra is unreachable', () => {
  const keyspace = uniqueKeyspace('decline');
  let direct: Client;
  let proxy: CuttableProxy;
  let proxied: Client;
  let log: CassandraDecisionLog;
  let settings: CassandraStoreSettings;

  before(async () => {
    ({ client: direct } = await openMigrated(keyspace));
    proxy = await CuttableProxy.start(cassandraContactPoints[0] as string);
    settings = testSettings(keyspace, {
      contactPoints: [proxy.contactPoint], writeTimeoutMs: WRITE_TIMEOUT_MS, appendTimeoutMs: APPEND_TIMEOUT_MS,
    });
    proxied = await openClient(settings);
    log = new CassandraDecisionLog(proxied, {
      keyspace, holdExpiryDays: 7, cardHistoryMonths: 3, appendTimeoutMs: APPEND_TIMEOUT_MS,
    });
    // Prepare every statement while the node answers, as the first decisions of a running gateway
    // would. The first append also prepares, which on a loaded machine can take longer than the
    // tight 100 ms bound under test: it is retried until one append completes.
    const prepared = await waitFor(async () => {
      try {
        await log.append(decisionRecord(testPans[0] as string));
        return true;
      } catch {
        return false;
      }
    }, 30_000, 200);
    assert.ok(prepared, 'an append through the open proxy completed while warming up');
  });

  after(async () => {
    await log.close();
    await proxied.shutdown();
    await proxy.close();
    await dropTestKeyspace(direct, keyspace);
  });

  it('rejects every append within the bound while the node hangs (connections open, no answers)', async () => {
    proxy.blackhole();
    try {
      const started = Date.now();
      const outcomes = await Promise.allSettled(
        [0, 1, 2, 3, 4, 5, 6, 7].map(() => log.append(decisionRecord(testPans[1] as string))));
      const elapsed = Date.now() - started;
      assert.ok(outcomes.every((outcome) => outcome.status === 'rejected'), 'every append rejected');
      for (const outcome of outcomes) {
        // The bound, or the driver's own client timeout: never an unrelated failure.
        const reason: unknown = outcome.status === 'rejected' ? outcome.reason : undefined;
        assert.ok(reason instanceof Error && isTransientCassandraError(reason), `unexpected ${String(reason)}`);
      }
      assert.ok(elapsed < APPEND_TIMEOUT_MS + TIMER_SLACK_MS, `rejected after ${elapsed} ms`);
    } finally {
      proxy.restore();
    }
  });

  it('rejects within the bound when the node refuses connections', async () => {
    proxy.refuse();
    try {
      const started = Date.now();
      await assert.rejects(log.append(decisionRecord(testPans[1] as string)));
      assert.ok(Date.now() - started < APPEND_TIMEOUT_MS + TIMER_SLACK_MS);
    } finally {
      proxy.restore();
    }
  });

  it('takes appends again once the node is back', async () => {
    proxy.restore();
    const record = decisionRecord(testPans[2] as string);
    const recovered = await waitFor(async () => {
      try {
        await log.append(record);
        return true;
      } catch {
        return false;
      }
    }, 15_000, 200);
    assert.ok(recovered, 'append succeeded after the node came back');
    const stored = new CassandraDecisionLog(direct, { keyspace, holdExpiryDays: 7, cardHistoryMonths: 3, appendTimeoutMs: 3000 });
    assert.deepEqual(await stored.findByIdempotencyKey(record.idempotencyKey), record);
  });

  it('makes the authoriser answer 91 and release the hold: no approval without a row', async () => {
    const pan = testPans[3] as string;
    const accountId = 'acct-decline';
    const ledger = new MemoryLedger({ retentionMs: 8 * 86_400_000 });
    const shard = shardOfAccount(accountId, SHARD_COUNT);
    await ledger.claimShard(shard, 1);
    await ledger.putAccount({ accountId, currency: '826', balanceMinor: 50_000, overdraftMinor: 0 }, shard, 1);
    const cards = new InMemoryCardDirectory();
    await cards.put(testCard(pan, accountId, 'card-decline'));
    const authoriser = authoriserOver(ledger, log, cards, SHARD_COUNT);
    await waitFor(async () => {
      try {
        await log.append(decisionRecord(pan));
        return true;
      } catch {
        return false;
      }
    }, 15_000, 200);

    const approved = await authoriser.decide(schemeRequest(pan, { billingAmountMinor: 2_000 }), Date.now());
    assert.equal(approved.responseCode, '00');

    proxy.blackhole();
    let declinedKey = '';
    try {
      const request = schemeRequest(pan, { billingAmountMinor: 3_000 });
      const decision = await authoriser.decide(request, Date.now());
      declinedKey = decision.idempotencyKey;
      assert.equal(decision.responseCode, '91');
      assert.equal(decision.status, 'not-durable');
      assert.equal(decision.approvalCode, '');
      const view = await ledger.getAccount(accountId);
      // Only the first (recorded) approval still holds money.
      assert.equal(view?.availableMinor, 48_000);
      assert.deepEqual(view?.holds.map((hold) => hold.amountMinor), [2_000]);
    } finally {
      proxy.restore();
    }
    // Once the node answers again, the correcting records land in the background: the request's
    // own key holds the 91 that was answered, and a release record cancels the timed-out approval.
    assert.ok(await authoriser.correctionsWritten(60_000), 'the correcting records were written');
    const answered = await log.findByIdempotencyKey(declinedKey);
    assert.equal(answered?.responseCode, '91');
    assert.equal(answered?.approvedMinor, 0);
    const release = await log.findByIdempotencyKey(`not-durable:${declinedKey}`);
    assert.equal(release?.kind, 'reversal-advice');
    assert.equal(release?.approvedMinor, 3_000);
  });
});
