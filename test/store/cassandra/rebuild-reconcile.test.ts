// Accounts, holds and balances rebuilt from Cassandra agree with the ledger that made them. The real
// authoriser runs a scripted and a random mix of authorisations, increments, partial and full
// reversals, single-message payments, advices, stand-in answers and admin credits and debits over
// the Redis ledger, recording decisions in Cassandra. Then: reconciliation finds no difference; the
// shard rebuilt from Cassandra matches Redis; after Redis loses everything, the rebuilt state loaded
// back makes reconciliation clean again, a reversal of a hold placed before the loss still releases
// it, and a retransmission of an approved authorisation does not hold twice.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Client } from 'cassandra-driver';
import type { SchemeRequest } from '../../../src/acceptor/scheme-request';
import type { Authoriser, Decision } from '../../../src/authorise/authoriser';
import { InMemoryCardDirectory } from '../../../src/authorise/card-directory';
import { UtcCalendar } from '../../../src/authorise/calendar';
import type { Ledger } from '../../../src/authorise/ledger';
import { shardOfAccount } from '../../../src/authorise/shard-directory';
import type { Account } from '../../../src/authorise/types';
import { CassandraAccountStore, type AccountState } from '../../../src/store/cassandra/account-store';
import { CassandraDecisionLog } from '../../../src/store/cassandra/cassandra-decision-log';
import { reconcileHolds } from '../../../src/store/cassandra/reconciliation';
import { rebuildShardFromCassandra, restoreShard, type ShardRestoreTarget } from '../../../src/store/cassandra/shard-rebuild';
import { RedisLedger } from '../../../src/store/redis/redis-ledger';
import { seededRandom } from '../../../src/simulator/traffic';
import { redisUrl } from '../../support/services';
import {
  authoriserOver, dropRedisPrefix, dropTestKeyspace, openMigrated, reversalOf, schemeRequest, testCard, testPans, uniqueKeyspace,
} from './support';

const SHARDS = 4;
const RANDOM_STEPS = 160;
const calendar = new UtcCalendar();


/**
 * Loads a rebuilt account through the Ledger interface alone: the account, then each pending hold as
 * an advice under its original idempotency key, hold id, expiry and references, so a repeat replays
 * and a reversal by DE 90, DE 37 or DE 38 finds it.
 */
function adviceRestoreTarget(ledger: Ledger): ShardRestoreTarget {
  return {
    async restoreAccount(state: AccountState, shard: number, fencingToken: number): Promise<void> {
      await ledger.putAccount(state.account, shard, fencingToken);
      for (const hold of state.holds) {
        const references: { rrn?: string; approvalCode?: string } = {};
        if (hold.rrn !== '') references.rrn = hold.rrn;
        if (hold.approvalCode !== '') references.approvalCode = hold.approvalCode;
        await ledger.apply({
          kind: 'advice', idempotencyKey: hold.idempotencyKey, accountId: hold.accountId, cardId: hold.cardId, shard,
          fencingToken, nowMs: hold.createdAtMs, settlement: 'hold', amountMinor: hold.amountMinor,
          limits: {
            dayKey: calendar.dayKey(hold.createdAtMs), monthKey: calendar.monthKey(hold.createdAtMs),
            dailySpendMinor: Number.MAX_SAFE_INTEGER, monthlySpendMinor: Number.MAX_SAFE_INTEGER,
          },
          holdId: hold.holdId, expiresAtMs: hold.expiresAtMs, references,
        });
      }
    },
  };
}

describe('rebuild and reconciliation from Cassandra', () => {
  const keyspace = uniqueKeyspace('rebuild');
  const prefix = `cass-rebuild-${randomUUID().slice(0, 8)}`;
  const accounts: Account[] = [
    { accountId: 'acct-rich', currency: '826', balanceMinor: 500_000, overdraftMinor: 0 },
    { accountId: 'acct-thin', currency: '826', balanceMinor: 3_000, overdraftMinor: 0 },
    { accountId: 'acct-overdraft', currency: '826', balanceMinor: 40_000, overdraftMinor: 20_000 },
  ];
  const pans = [testPans[0], testPans[1], testPans[2]] as string[];
  const accountIds = accounts.map((account) => account.accountId);
  let client: Client;
  let ledger: RedisLedger;
  let decisions: CassandraDecisionLog;
  let store: CassandraAccountStore;
  let cards: InMemoryCardDirectory;
  let authoriser: Authoriser;
  /** Approved 0100s whose hold may still be pending, with what the authoriser answered. */
  const approvals: { request: SchemeRequest; decision: Decision }[] = [];

  before(async () => {
    let settings;
    ({ client, settings } = await openMigrated(keyspace));
    decisions = new CassandraDecisionLog(client, {
      keyspace, holdExpiryDays: 7, cardHistoryMonths: 3, appendTimeoutMs: settings.appendTimeoutMs,
    });
    store = new CassandraAccountStore(client, { keyspace, shardCount: SHARDS, holdExpiryDays: 7 });
    ledger = await RedisLedger.connect({ url: redisUrl, shardCount: SHARDS, keyPrefix: prefix, commandTimeoutMs: 2000 });
    for (let shard = 0; shard < SHARDS; shard += 1) await ledger.claimShard(shard, 1);
    cards = new InMemoryCardDirectory();
    for (const [index, account] of accounts.entries()) {
      const shard = shardOfAccount(account.accountId, SHARDS);
      await ledger.putAccount(account, shard, 1);
      await store.putAccount(account, Date.now() - 1);
      await cards.put(testCard(pans[index] as string, account.accountId, `card-${account.accountId}`));
    }
    authoriser = authoriserOver(ledger, decisions, cards, SHARDS);
  });

  after(async () => {
    await ledger.close();
    await dropRedisPrefix(redisUrl, prefix);
    await dropTestKeyspace(client, keyspace);
  });

  async function decide(request: SchemeRequest): Promise<Decision> {
    const decision = await authoriser.decide(request, Date.now());
    if (request.kind === 'authorisation' && request.original === undefined && decision.approvedMinor > 0
      && (decision.responseCode === '00' || decision.responseCode === '10')) {
      approvals.push({ request, decision });
    }
    return decision;
  }

  it('records a scripted day on the accounts, each step answered as the ledger decided', async () => {
    const [rich, thin, overdraft] = pans as [string, string, string];
    const first = schemeRequest(rich, { billingAmountMinor: 10_000 });
    assert.equal((await decide(first)).responseCode, '00');
    // Incremental: DE 90 names the first authorisation, its hold grows by 2,000.
    const increment = await decide(schemeRequest(rich, {
      billingAmountMinor: 2_000,
      original: { mti: '0100', stan: first.stan, transmissionDateTime: first.transmissionDateTime, acquirerId: first.acquirerId },
    }));
    assert.equal(increment.approvedMinor, 2_000);
    // Partial reversal down to 4,000 (DE 95), then a full reversal of another hold.
    assert.equal((await decide(reversalOf(first, { replacementAmountMinor: 4_000 }))).approvedMinor, 8_000);
    // Incrementals taken back alone: one answered 91 by the stand-in and approved late, one named by
    // a scheme reversal. The hold keeps its original's 6,000 in Redis and in the rebuild.
    const third = schemeRequest(rich, { billingAmountMinor: 6_000 });
    const thirdDecision = await decide(third);
    const ofThird = { mti: '0100', stan: third.stan, transmissionDateTime: third.transmissionDateTime, acquirerId: third.acquirerId };
    const lateIncrement = schemeRequest(rich, { billingAmountMinor: 1_000, original: ofThird });
    const lateIncrementDecision = await decide(lateIncrement);
    assert.equal(lateIncrementDecision.approvedMinor, 1_000);
    await authoriser.reconcileStandIn(lateIncrement, lateIncrementDecision, authoriser.standInAnswer('91', '', Date.now()));
    const reversedIncrement = schemeRequest(rich, { billingAmountMinor: 500, original: ofThird });
    assert.equal((await decide(reversedIncrement)).approvedMinor, 500);
    assert.equal((await decide(reversalOf(reversedIncrement))).approvedMinor, 500);
    const thirdHold = (await ledger.getAccount('acct-rich'))?.holds.find((hold) => hold.holdId === thirdDecision.record?.holdId);
    assert.deepEqual([thirdHold?.amountMinor, thirdHold?.status], [6_000, 'pending']);
    const second = schemeRequest(rich, { billingAmountMinor: 7_000 });
    await decide(second);
    assert.equal((await decide(reversalOf(second))).approvedMinor, 7_000);
    // Partial approval on the thin account: 3,000 of 5,000.
    const partial = await decide(schemeRequest(thin, { billingAmountMinor: 5_000, partialApprovalSupported: true }));
    assert.deepEqual([partial.responseCode, partial.approvedMinor], ['10', 3_000]);
    // Single-message payments: one refunded by its reversal, one kept.
    const refunded = schemeRequest(overdraft, { kind: 'financial', mti: '0200', billingAmountMinor: 1_500 });
    assert.equal((await decide(refunded)).responseCode, '00');
    assert.equal((await decide(reversalOf(refunded))).approvedMinor, 1_500);
    assert.equal((await decide(schemeRequest(overdraft, { kind: 'financial', mti: '0200', billingAmountMinor: 700 }))).responseCode, '00');
    // An advice (the scheme stood in): held without checks.
    assert.equal((await decide(schemeRequest(overdraft, { kind: 'advice', mti: '0120', billingAmountMinor: 2_500 }))).responseCode, '00');
    // Stand-in answers: decline over an approval (released), approval over a decline (held), approval over approval.
    const overridden = schemeRequest(rich, { billingAmountMinor: 3_300 });
    const overriddenDecision = await decide(overridden);
    await authoriser.reconcileStandIn(overridden, overriddenDecision, authoriser.standInAnswer('91', '', Date.now()));
    const tooBig = schemeRequest(thin, { billingAmountMinor: 900_000 });
    const declined = await decide(tooBig);
    assert.equal(declined.responseCode, '51');
    await authoriser.reconcileStandIn(tooBig, declined, authoriser.standInAnswer('00', '', Date.now()));
    const agreed = schemeRequest(overdraft, { billingAmountMinor: 1_100 });
    await authoriser.reconcileStandIn(agreed, await decide(agreed), authoriser.standInAnswer('00', '', Date.now()));
    // An unknown card: recorded without an account, moves no money.
    assert.equal((await decide(schemeRequest('4000000000000002', { billingAmountMinor: 100 }))).responseCode, '14');
    // Admin: a top-up, and a clearing that posts a pending hold.
    const richShard = shardOfAccount('acct-rich', SHARDS);
    const creditKey = `admin-credit-${randomUUID()}`;
    await ledger.credit('acct-rich', 20_000, creditKey, richShard, 1);
    await store.recordCredit('acct-rich', 20_000, creditKey);
    const viewBefore = await ledger.getAccount('acct-rich');
    const posted = viewBefore?.holds.find((hold) => hold.status === 'pending');
    assert.ok(posted !== undefined);
    const debitKey = `admin-debit-${randomUUID()}`;
    await ledger.debit('acct-rich', posted.amountMinor, posted.holdId, debitKey, richShard, 1);
    await store.recordDebit('acct-rich', posted.amountMinor, posted.holdId, debitKey);
  });

  it('records a random mix without a difference between Redis and Cassandra', async () => {
    // Seeded, so a failing mix can be replayed exactly.
    const random = seededRandom(20261126);
    for (let step = 0; step < RANDOM_STEPS; step += 1) {
      const pick = random();
      const index = Math.floor(random() * pans.length);
      const pan = pans[index] as string;
      const amount = 100 + Math.floor(random() * 8_000);
      const previous = approvals.length > 0 ? approvals[Math.floor(random() * approvals.length)] : undefined;
      if (pick < 0.4 || previous === undefined) {
        await decide(schemeRequest(pan, { billingAmountMinor: amount, partialApprovalSupported: random() < 0.3 }));
      } else if (pick < 0.55) {
        const full = random() < 0.5;
        await decide(reversalOf(previous.request, full ? {} : { replacementAmountMinor: Math.floor(previous.decision.approvedMinor / 2) }));
      } else if (pick < 0.65) {
        const original = previous.request;
        await decide(schemeRequest(original.pan, {
          billingAmountMinor: Math.floor(amount / 4) + 1,
          original: { mti: '0100', stan: original.stan, transmissionDateTime: original.transmissionDateTime, acquirerId: original.acquirerId },
        }));
      } else if (pick < 0.75) {
        await decide(schemeRequest(pan, { kind: 'financial', mti: '0200', billingAmountMinor: amount }));
      } else if (pick < 0.82) {
        await decide(schemeRequest(pan, { kind: 'advice', mti: '0120', billingAmountMinor: amount }));
      } else if (pick < 0.9) {
        const request = schemeRequest(pan, { billingAmountMinor: amount });
        await authoriser.reconcileStandIn(request, await decide(request), authoriser.standInAnswer(random() < 0.5 ? '91' : '00', '', Date.now()));
      } else {
        // The same authorisation retransmitted (same STAN, DE 7, DE 32): must not hold twice.
        await decide(previous.request);
      }
    }
    const report = await reconcileHolds(ledger, store, accountIds);
    assert.equal(report.checkedAccounts, accounts.length);
    assert.deepEqual(report.differences, []);
  });

  it('rebuilds each shard from Cassandra to exactly what Redis holds', async () => {
    const shards = new Set(accountIds.map((accountId) => shardOfAccount(accountId, SHARDS)));
    let pendingHolds = 0;
    for (const shard of shards) {
      const rebuilt = await rebuildShardFromCassandra(shard, store);
      for (const state of rebuilt.accounts) {
        const view = await ledger.getAccount(state.account.accountId);
        assert.ok(view !== undefined);
        assert.equal(state.account.balanceMinor, view.balanceMinor, `${state.account.accountId} balance`);
        assert.equal(state.availableMinor, view.availableMinor, `${state.account.accountId} available`);
        const redisHolds = view.holds.filter((hold) => hold.status === 'pending')
          .map((hold) => [hold.holdId, hold.amountMinor, hold.idempotencyKey, hold.expiresAtMs]).sort();
        const storedHolds = state.holds.map((hold) => [hold.holdId, hold.amountMinor, hold.idempotencyKey, hold.expiresAtMs]).sort();
        assert.deepEqual(storedHolds, redisHolds, `${state.account.accountId} holds`);
        pendingHolds += storedHolds.length;
      }
    }
    assert.ok(pendingHolds >= 5, `a meaningful number of holds compared (${pendingHolds})`);
  });

  it('reports each kind of difference it is built to find', async () => {
    const accountId = 'acct-rich';
    const shard = shardOfAccount(accountId, SHARDS);
    const view = await ledger.getAccount(accountId);
    const victim = view?.holds.find((hold) => hold.status === 'pending');
    assert.ok(victim !== undefined);
    // Changes made in Redis only, never recorded: exactly what reconciliation exists to catch.
    await ledger.apply({
      kind: 'reverse', idempotencyKey: `unrecorded-${randomUUID()}`, accountId, cardId: victim.cardId, shard,
      fencingToken: 1, nowMs: Date.now(), originalKey: victim.idempotencyKey, references: {}, advice: true,
    });
    await ledger.credit(accountId, 1, `unrecorded-credit-${randomUUID()}`, shard, 1);
    const report = await reconcileHolds(ledger, store, [accountId, 'acct-nowhere']);
    const kinds = report.differences.map((difference) => difference.kind).sort();
    assert.deepEqual(kinds, ['balance-mismatch', 'hold-missing-in-ledger']);
    const missing = report.differences.find((difference) => difference.kind === 'hold-missing-in-ledger');
    assert.ok(missing !== undefined && missing.kind === 'hold-missing-in-ledger');
    assert.equal(missing.holdId, victim.holdId);
    // Redis now disagrees with the record; the next test loses Redis and rebuilds it from Cassandra.
  });

  it('after Redis lost everything, loads the rebuilt shards back: reconciled, reversals match, repeats do not hold twice', async () => {
    await dropRedisPrefix(redisUrl, prefix);
    const lost = await reconcileHolds(ledger, store, accountIds);
    assert.deepEqual(lost.differences.map((difference) => difference.kind),
      accountIds.map(() => 'account-missing-in-ledger'));

    // The new owners claim with a newer token and load before serving.
    for (let shard = 0; shard < SHARDS; shard += 1) await ledger.claimShard(shard, 2);
    for (let shard = 0; shard < SHARDS; shard += 1) {
      await restoreShard(adviceRestoreTarget(ledger), await rebuildShardFromCassandra(shard, store), 2);
    }
    assert.deepEqual((await reconcileHolds(ledger, store, accountIds)).differences, []);

    const restarted = authoriserOver(ledger, decisions, cards, SHARDS, 2);
    const viewBefore = await ledger.getAccount('acct-rich');
    const pendingBefore = new Map((viewBefore?.holds ?? []).map((hold) => [hold.idempotencyKey, hold.amountMinor]));
    const stillHeld = approvals.find((entry) => entry.request.pan === pans[0]
      && pendingBefore.has(`10:${entry.request.acquirerId}:${entry.request.stan}:${entry.request.transmissionDateTime}`));
    assert.ok(stillHeld !== undefined, 'an approval from before the loss still holds money');

    const repeat = await restarted.decide(stillHeld.request, Date.now());
    assert.equal(repeat.responseCode, stillHeld.decision.responseCode);
    assert.equal(repeat.approvalCode, stillHeld.decision.approvalCode);
    assert.equal((await ledger.getAccount('acct-rich'))?.availableMinor, viewBefore?.availableMinor);

    const reversal = await restarted.decide(reversalOf(stillHeld.request), Date.now());
    assert.equal(reversal.responseCode, '00');
    const released = pendingBefore.get(stillHeld.decision.idempotencyKey);
    assert.equal(reversal.approvedMinor, released);
    assert.equal((await ledger.getAccount('acct-rich'))?.availableMinor, (viewBefore?.availableMinor ?? 0) + (released ?? 0));
    assert.deepEqual((await reconcileHolds(ledger, store, accountIds)).differences, []);
  });
});
