/**
 * The hold ledger's contract, run against every implementation (embedded memory, Redis). Each test
 * names the behaviour it checks; implementations must agree on every outcome.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type {
  AdviceOperation, AuthoriseOperation, Ledger, ReverseOperation, SpendLimitCheck,
} from '../../src/authorise/ledger';
import { shardOfAccount } from '../../src/authorise/shard-directory';
import { ShardFencedError } from '../../src/authorise/shard-fenced-error';

export interface LedgerUnderTest {
  ledger: Ledger;
  cleanup(): Promise<void>;
}

const DAY_MS = 86_400_000;
/** Ledgers under test are opened with this many shards; each account lives in its own shard. */
export const CONTRACT_SHARD_COUNT = 16;
const TOKEN = 7;
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

const generousLimits: SpendLimitCheck = {
  dayKey: '20261126', monthKey: '202611', dailySpendMinor: 1_000_000, monthlySpendMinor: 5_000_000,
};

interface Fixture { ledger: Ledger; accountId: string; cardId: string; shard: number }

function authorise(fixture: Fixture, amountMinor: number, overrides: Partial<AuthoriseOperation> = {}):
  AuthoriseOperation {
  return {
    kind: 'authorise', settlement: 'hold', idempotencyKey: `auth-${randomUUID()}`,
    accountId: fixture.accountId, cardId: fixture.cardId, shard: fixture.shard, fencingToken: TOKEN, nowMs: NOW,
    amountMinor, allowPartial: false, limits: generousLimits, holdId: randomUUID(),
    expiresAtMs: NOW + 7 * DAY_MS, references: {}, ...overrides,
  };
}

function reverse(fixture: Fixture, overrides: Partial<ReverseOperation> = {}): ReverseOperation {
  return {
    kind: 'reverse', idempotencyKey: `rev-${randomUUID()}`, accountId: fixture.accountId,
    cardId: fixture.cardId, shard: fixture.shard, fencingToken: TOKEN, nowMs: NOW, references: {},
    advice: false, ...overrides,
  };
}

function advice(fixture: Fixture, amountMinor: number, overrides: Partial<AdviceOperation> = {}):
  AdviceOperation {
  return {
    kind: 'advice', settlement: 'hold', idempotencyKey: `adv-${randomUUID()}`,
    accountId: fixture.accountId, cardId: fixture.cardId, shard: fixture.shard, fencingToken: TOKEN, nowMs: NOW,
    amountMinor, limits: generousLimits, holdId: randomUUID(), expiresAtMs: NOW + 7 * DAY_MS,
    references: {}, ...overrides,
  };
}

export function runLedgerContract(name: string, makeLedger: () => Promise<LedgerUnderTest>): void {
  async function withAccount(balanceMinor: number, overdraftMinor: number,
    body: (fixture: Fixture) => Promise<void>): Promise<void> {
    const { ledger, cleanup } = await makeLedger();
    try {
      const accountId = `acct-${randomUUID()}`;
      const fixture = { ledger, accountId, cardId: `card-${randomUUID()}`,
        shard: shardOfAccount(accountId, CONTRACT_SHARD_COUNT) };
      await ledger.claimShard(fixture.shard, TOKEN);
      await ledger.putAccount({ accountId: fixture.accountId, currency: '826', balanceMinor, overdraftMinor },
        fixture.shard, TOKEN);
      await body(fixture);
    } finally {
      await cleanup();
    }
  }

  async function available(fixture: Fixture): Promise<number> {
    const view = await fixture.ledger.getAccount(fixture.accountId);
    assert.ok(view, 'account exists');
    return view.availableMinor;
  }

  test(`${name}: an authorisation within the available balance holds its amount`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const outcome = await fixture.ledger.apply(authorise(fixture, 2_500));
      assert.equal(outcome.status, 'approved');
      assert.equal(outcome.responseCode, '00');
      assert.equal(outcome.approvedMinor, 2_500);
      assert.equal(outcome.replayed, false);
      const view = await fixture.ledger.getAccount(fixture.accountId);
      assert.equal(view?.balanceMinor, 10_000);
      assert.equal(view?.availableMinor, 7_500);
      assert.equal(view?.holds.length, 1);
      assert.equal(view?.holds[0]?.amountMinor, 2_500);
      assert.equal(view?.holds[0]?.status, 'pending');
    }));

  test(`${name}: an authorisation above the available balance declines 51 and holds nothing`, () =>
    withAccount(1_000, 500, async (fixture) => {
      const outcome = await fixture.ledger.apply(authorise(fixture, 1_501));
      assert.equal(outcome.status, 'declined');
      assert.equal(outcome.responseCode, '51');
      assert.equal(await available(fixture), 1_500);
    }));

  test(`${name}: the overdraft counts toward the available balance`, () =>
    withAccount(1_000, 500, async (fixture) => {
      const outcome = await fixture.ledger.apply(authorise(fixture, 1_500));
      assert.equal(outcome.status, 'approved');
      assert.equal(await available(fixture), 0);
    }));

  test(`${name}: partial approval holds what is available and answers 10`, () =>
    withAccount(1_000, 0, async (fixture) => {
      const outcome = await fixture.ledger.apply(authorise(fixture, 4_000, { allowPartial: true }));
      assert.equal(outcome.status, 'partial');
      assert.equal(outcome.responseCode, '10');
      assert.equal(outcome.approvedMinor, 1_000);
      assert.equal(await available(fixture), 0);
    }));

  test(`${name}: a replayed authorisation returns the first outcome and never holds twice`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const operation = authorise(fixture, 3_000);
      const first = await fixture.ledger.apply(operation);
      const second = await fixture.ledger.apply({ ...operation, holdId: randomUUID() });
      assert.equal(second.replayed, true);
      assert.equal(second.status, first.status);
      assert.equal(second.holdId, first.holdId);
      assert.equal(await available(fixture), 7_000);
    }));

  test(`${name}: daily and monthly spend limits decline 61`, () =>
    withAccount(100_000, 0, async (fixture) => {
      const limits = { ...generousLimits, dailySpendMinor: 5_000, monthlySpendMinor: 8_000 };
      assert.equal((await fixture.ledger.apply(authorise(fixture, 4_000, { limits }))).responseCode, '00');
      assert.equal((await fixture.ledger.apply(authorise(fixture, 1_001, { limits }))).responseCode, '61');
      const nextDay = { ...limits, dayKey: '20261127' };
      assert.equal((await fixture.ledger.apply(authorise(fixture, 4_000, { limits: nextDay }))).responseCode, '00');
      assert.equal((await fixture.ledger.apply(authorise(fixture, 1, { limits: nextDay }))).responseCode, '61',
        'the month is spent');
    }));

  test(`${name}: ATM withdrawals decline 61 over the amount limit and 65 over the count limit`, () =>
    withAccount(100_000, 0, async (fixture) => {
      const limits = { ...generousLimits, atm: { dailyAmountMinor: 30_000, dailyCount: 2 } };
      assert.equal((await fixture.ledger.apply(authorise(fixture, 30_001, { limits }))).responseCode, '61');
      assert.equal((await fixture.ledger.apply(authorise(fixture, 1_000, { limits }))).responseCode, '00');
      assert.equal((await fixture.ledger.apply(authorise(fixture, 1_000, { limits }))).responseCode, '00');
      assert.equal((await fixture.ledger.apply(authorise(fixture, 1_000, { limits }))).responseCode, '65');
    }));

  test(`${name}: a full reversal matched by the original's key releases the hold once`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const original = authorise(fixture, 4_000);
      await fixture.ledger.apply(original);
      const reversal = reverse(fixture, { originalKey: original.idempotencyKey });
      const released = await fixture.ledger.apply(reversal);
      assert.equal(released.status, 'reversed');
      assert.equal(released.approvedMinor, 4_000);
      assert.equal(await available(fixture), 10_000);
      const repeated = await fixture.ledger.apply(reversal);
      assert.equal(repeated.replayed, true);
      const another = await fixture.ledger.apply(reverse(fixture, { originalKey: original.idempotencyKey }));
      assert.equal(another.approvedMinor, 0, 'a second, different reversal releases nothing more');
      assert.equal(await available(fixture), 10_000);
    }));

  test(`${name}: a reversal on another account whose DE 90 names this account's authorisation releases nothing`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const otherId = `acct-${randomUUID()}`;
      const other = { ledger: fixture.ledger, accountId: otherId, cardId: `card-${randomUUID()}`,
        shard: shardOfAccount(otherId, CONTRACT_SHARD_COUNT) };
      await fixture.ledger.claimShard(other.shard, TOKEN);
      await fixture.ledger.putAccount({ accountId: otherId, currency: '826', balanceMinor: 10_000, overdraftMinor: 0 },
        other.shard, TOKEN);
      const original = authorise(fixture, 4_000);
      await fixture.ledger.apply(original);
      const stray = await fixture.ledger.apply(reverse(other, { originalKey: original.idempotencyKey }));
      assert.equal(stray.approvedMinor, 0, 'nothing released');
      assert.equal(await available(fixture), 6_000, 'still held on its own account');
      assert.equal(await available(other), 10_000, 'the other account unchanged');
      const own = await fixture.ledger.apply(reverse(fixture, { originalKey: original.idempotencyKey }));
      assert.equal(own.approvedMinor, 4_000, 'its own account\'s reversal still finds it');
    }));

  test(`${name}: a partial reversal leaves the replacement amount held`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const original = authorise(fixture, 4_000);
      await fixture.ledger.apply(original);
      const outcome = await fixture.ledger.apply(
        reverse(fixture, { originalKey: original.idempotencyKey, remainingMinor: 1_500 }));
      assert.equal(outcome.approvedMinor, 2_500);
      assert.equal(await available(fixture), 8_500);
      const view = await fixture.ledger.getAccount(fixture.accountId);
      assert.equal(view?.holds[0]?.amountMinor, 1_500);
    }));

  test(`${name}: a reversal without DE 90 finds its original by RRN or approval code`, () =>
    withAccount(10_000, 0, async (fixture) => {
      await fixture.ledger.apply(authorise(fixture, 1_000, { references: { rrn: '000000000001' } }));
      await fixture.ledger.apply(authorise(fixture, 2_000, { references: { approvalCode: 'A1B2C3' } }));
      const byRrn = await fixture.ledger.apply(reverse(fixture, { references: { rrn: '000000000001' } }));
      assert.equal(byRrn.approvedMinor, 1_000);
      const byCode = await fixture.ledger.apply(reverse(fixture, { references: { approvalCode: 'A1B2C3' } }));
      assert.equal(byCode.approvedMinor, 2_000);
      assert.equal(await available(fixture), 10_000);
    }));

  test(`${name}: a reversal that arrives before its original stops that original from holding`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const original = authorise(fixture, 4_000);
      const early = await fixture.ledger.apply(reverse(fixture, { originalKey: original.idempotencyKey }));
      assert.equal(early.status, 'original-unknown');
      assert.equal(early.responseCode, '12');
      const late = await fixture.ledger.apply(original);
      assert.equal(late.status, 'original-reversed');
      assert.equal(await available(fixture), 10_000);
    }));

  test(`${name}: an unmatched reversal advice is acknowledged with 00`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const outcome = await fixture.ledger.apply(reverse(fixture, { originalKey: 'nowhere', advice: true }));
      assert.equal(outcome.status, 'original-unknown');
      assert.equal(outcome.responseCode, '00');
    }));

  test(`${name}: an advice is applied once even past the overdraft, and flagged`, () =>
    withAccount(1_000, 0, async (fixture) => {
      const operation = advice(fixture, 2_500);
      const outcome = await fixture.ledger.apply(operation);
      assert.equal(outcome.status, 'applied');
      assert.equal(outcome.responseCode, '00');
      assert.equal(outcome.overdrawn, true);
      assert.equal(await available(fixture), -1_500);
      const again = await fixture.ledger.apply(operation);
      assert.equal(again.replayed, true);
      assert.equal(await available(fixture), -1_500);
    }));

  test(`${name}: an advice whose reversal arrived first is acknowledged and holds nothing`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const operation = advice(fixture, 2_000);
      await fixture.ledger.apply(reverse(fixture, { originalKey: operation.idempotencyKey, advice: true }));
      const outcome = await fixture.ledger.apply(operation);
      assert.equal(outcome.status, 'original-reversed');
      assert.equal(outcome.responseCode, '00');
      assert.equal(await available(fixture), 10_000);
    }));

  test(`${name}: admin writes with an older fencing token throw ShardFencedError`, () =>
    withAccount(10_000, 0, async (fixture) => {
      await fixture.ledger.claimShard(fixture.shard, TOKEN + 1);
      await assert.rejects(fixture.ledger.credit(fixture.accountId, 1, 'credit-fenced', fixture.shard, TOKEN),
        ShardFencedError);
      const report = await fixture.ledger.expireHolds(fixture.shard, NOW + 30 * DAY_MS, TOKEN);
      assert.deepEqual(report.expired, []);
    }));

  test(`${name}: an incremental authorisation grows its original hold`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const original = authorise(fixture, 3_000);
      const first = await fixture.ledger.apply(original);
      const increment = await fixture.ledger.apply(
        authorise(fixture, 2_000, { incrementOf: original.idempotencyKey }));
      assert.equal(increment.status, 'approved');
      assert.equal(increment.holdId, first.holdId);
      const view = await fixture.ledger.getAccount(fixture.accountId);
      assert.equal(view?.holds.length, 1);
      assert.equal(view?.holds[0]?.amountMinor, 5_000);
      const tooMuch = await fixture.ledger.apply(
        authorise(fixture, 5_001, { incrementOf: original.idempotencyKey }));
      assert.equal(tooMuch.responseCode, '51');
    }));

  test(`${name}: a reversal naming an incremental takes back only what it added; the original's takes the rest`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const original = authorise(fixture, 3_000);
      const placed = await fixture.ledger.apply(original);
      const increment = authorise(fixture, 2_000, { incrementOf: original.idempotencyKey });
      await fixture.ledger.apply(increment);
      assert.equal(await available(fixture), 5_000);
      const ofIncrement = reverse(fixture, { originalKey: increment.idempotencyKey, advice: true });
      const released = await fixture.ledger.apply(ofIncrement);
      assert.deepEqual([released.status, released.approvedMinor, released.holdId], ['reversed', 2_000, placed.holdId]);
      assert.equal(await available(fixture), 7_000, 'the original\'s 3,000 still held');
      const view = await fixture.ledger.getAccount(fixture.accountId);
      assert.deepEqual(view?.holds.map((hold) => [hold.amountMinor, hold.status]), [[3_000, 'pending']]);
      const again = await fixture.ledger.apply(reverse(fixture, { originalKey: increment.idempotencyKey }));
      assert.equal(again.approvedMinor, 0, 'a second reversal of the increment takes nothing more');
      const ofOriginal = await fixture.ledger.apply(reverse(fixture, { originalKey: original.idempotencyKey }));
      assert.equal(ofOriginal.approvedMinor, 3_000);
      assert.equal(await available(fixture), 10_000);
    }));

  test(`${name}: an incremental naming an earlier incremental grows the same hold; each reversal takes back its own part`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const original = authorise(fixture, 3_000);
      await fixture.ledger.apply(original);
      const first = authorise(fixture, 2_000, { incrementOf: original.idempotencyKey });
      await fixture.ledger.apply(first);
      const second = authorise(fixture, 1_000, { incrementOf: first.idempotencyKey });
      assert.equal((await fixture.ledger.apply(second)).approvedMinor, 1_000);
      assert.equal(await available(fixture), 4_000);
      assert.equal((await fixture.ledger.apply(reverse(fixture, { originalKey: first.idempotencyKey }))).approvedMinor, 2_000);
      assert.equal((await fixture.ledger.apply(reverse(fixture, { originalKey: second.idempotencyKey }))).approvedMinor, 1_000);
      assert.equal(await available(fixture), 7_000, 'the original\'s 3,000 still held');
    }));

  test(`${name}: after the original's reversal released the grown hold, the incremental's releases nothing`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const original = authorise(fixture, 3_000);
      await fixture.ledger.apply(original);
      const increment = authorise(fixture, 2_000, { incrementOf: original.idempotencyKey });
      await fixture.ledger.apply(increment);
      const ofOriginal = await fixture.ledger.apply(reverse(fixture, { originalKey: original.idempotencyKey }));
      assert.equal(ofOriginal.approvedMinor, 5_000, 'the whole hold, increment included');
      const ofIncrement = await fixture.ledger.apply(reverse(fixture, { originalKey: increment.idempotencyKey }));
      assert.equal(ofIncrement.approvedMinor, 0);
      assert.equal(await available(fixture), 10_000);
    }));

  test(`${name}: a financial request posts at once and its reversal credits it back`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const financial = authorise(fixture, 2_000, { settlement: 'post' });
      const outcome = await fixture.ledger.apply(financial);
      assert.equal(outcome.status, 'approved');
      let view = await fixture.ledger.getAccount(fixture.accountId);
      assert.equal(view?.balanceMinor, 8_000);
      assert.equal(view?.holds.length, 0);
      await fixture.ledger.apply(reverse(fixture, { originalKey: financial.idempotencyKey }));
      view = await fixture.ledger.getAccount(fixture.accountId);
      assert.equal(view?.balanceMinor, 10_000);
    }));

  test(`${name}: the expiry sweep releases holds past their expiry and no others`, () =>
    withAccount(10_000, 0, async (fixture) => {
      await fixture.ledger.apply(authorise(fixture, 1_000, { expiresAtMs: NOW + DAY_MS }));
      await fixture.ledger.apply(authorise(fixture, 2_000, { expiresAtMs: NOW + 3 * DAY_MS }));
      const report = await fixture.ledger.expireHolds(fixture.shard, NOW + 2 * DAY_MS, TOKEN);
      assert.equal(report.expired.length, 1);
      assert.equal(report.expired[0]?.amountMinor, 1_000);
      assert.equal(await available(fixture), 8_000);
    }));

  test(`${name}: a write carrying an older fencing token than the shard's newest is refused`, () =>
    withAccount(10_000, 0, async (fixture) => {
      await fixture.ledger.claimShard(fixture.shard, TOKEN + 1);
      const fenced = await fixture.ledger.apply(authorise(fixture, 1_000));
      assert.equal(fenced.status, 'fenced');
      assert.equal(await available(fixture), 10_000);
      const current = await fixture.ledger.apply(authorise(fixture, 1_000, { fencingToken: TOKEN + 1 }));
      assert.equal(current.status, 'approved');
    }));

  test(`${name}: a debit naming a hold posts it; a credit tops up once per key`, () =>
    withAccount(10_000, 0, async (fixture) => {
      const outcome = await fixture.ledger.apply(authorise(fixture, 3_000));
      assert.ok(outcome.holdId);
      let view = await fixture.ledger.debit(fixture.accountId, 2_800, outcome.holdId, 'debit-1', fixture.shard, TOKEN);
      assert.equal(view?.balanceMinor, 7_200);
      assert.equal(view?.availableMinor, 7_200);
      assert.equal(view?.holds.length, 0);
      view = await fixture.ledger.credit(fixture.accountId, 500, 'credit-1', fixture.shard, TOKEN);
      view = await fixture.ledger.credit(fixture.accountId, 500, 'credit-1', fixture.shard, TOKEN);
      assert.equal(view?.balanceMinor, 7_700);
    }));

  test(`${name}: an unknown account reads as undefined`, async () => {
    const { ledger, cleanup } = await makeLedger();
    try {
      assert.equal(await ledger.getAccount(`missing-${randomUUID()}`), undefined);
    } finally {
      await cleanup();
    }
  });
}
