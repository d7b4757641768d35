// The Redis ledger's atomic steps against a real Redis: holds, limits, replays, reversals in every
// order, advices, incrementals, posting and the expiry sweep.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RedisLedger } from '../../../src/store/redis/redis-ledger';
import {
  adviceOp, authoriseOp, claimAll, DAY_MS, dropPrefix, NOW, openLedger, putAccount, reverseOp, shardOf,
  TOKEN, uniquePrefix,
} from './ledger-fixture';

const prefix = uniquePrefix();
let ledger: RedisLedger;
let accountSequence = 0;

async function freshAccount(balanceMinor: number, overdraftMinor = 0): Promise<string> {
  accountSequence += 1;
  const accountId = `acct-${accountSequence}`;
  await putAccount(ledger, accountId, balanceMinor, overdraftMinor);
  return accountId;
}

before(async () => {
  ledger = await openLedger(prefix);
  await claimAll(ledger);
});

after(async () => {
  await ledger.close();
  await dropPrefix(prefix);
});

describe('authorise', () => {
  test('approves within the available balance, places a pending hold and lowers available', async () => {
    const accountId = await freshAccount(10_000, 500);
    const operation = authoriseOp(accountId, 4_000);
    const outcome = await ledger.apply(operation);
    assert.deepEqual(outcome, {
      status: 'approved', responseCode: '00', approvedMinor: 4_000, holdId: operation.holdId,
      replayed: false, overdrawn: false, availableMinor: 6_500,
    });
    const view = await ledger.getAccount(accountId);
    assert.equal(view?.balanceMinor, 10_000);
    assert.equal(view?.availableMinor, 6_500);
    assert.equal(view?.holds.length, 1);
    assert.equal(view?.holds[0]?.status, 'pending');
    assert.equal(view?.holds[0]?.amountMinor, 4_000);
  });

  test('declines 51 beyond balance plus overdraft and holds nothing', async () => {
    const accountId = await freshAccount(1_000, 200);
    const outcome = await ledger.apply(authoriseOp(accountId, 1_201));
    assert.equal(outcome.status, 'declined');
    assert.equal(outcome.responseCode, '51');
    assert.equal(outcome.holdId, undefined);
    assert.equal((await ledger.getAccount(accountId))?.availableMinor, 1_200);
  });

  test('approves what is available with DE 39 10 when the terminal supports partial approval', async () => {
    const accountId = await freshAccount(700);
    const outcome = await ledger.apply(authoriseOp(accountId, 1_000, { allowPartial: true }));
    assert.equal(outcome.status, 'partial');
    assert.equal(outcome.responseCode, '10');
    assert.equal(outcome.approvedMinor, 700);
    assert.equal(outcome.availableMinor, 0);
    const none = await ledger.apply(authoriseOp(accountId, 10, { allowPartial: true }));
    assert.equal(none.responseCode, '51', 'nothing available: a partial approval of 0 is a decline');
  });

  test('a repeat of the same key replays the stored outcome and never holds twice', async () => {
    const accountId = await freshAccount(10_000);
    const operation = authoriseOp(accountId, 3_000);
    const first = await ledger.apply(operation);
    const again = await ledger.apply({ ...operation, holdId: 'another-hold-id' });
    assert.equal(again.replayed, true);
    assert.deepEqual({ ...again, replayed: false }, first);
    const view = await ledger.getAccount(accountId);
    assert.equal(view?.holds.length, 1);
    assert.equal(view?.availableMinor, 7_000);
  });

  test('a declined key replays its decline even after funds arrive', async () => {
    const accountId = await freshAccount(100);
    const operation = authoriseOp(accountId, 500);
    assert.equal((await ledger.apply(operation)).responseCode, '51');
    await ledger.credit(accountId, 1_000, 'top-up-1', shardOf(accountId), TOKEN);
    const again = await ledger.apply(operation);
    assert.equal(again.responseCode, '51');
    assert.equal(again.replayed, true);
  });

  test('declines 61 past the daily or monthly spend and 61/65 past the ATM amount/count', async () => {
    const accountId = await freshAccount(1_000_000);
    const limits = { dayKey: '20261126', monthKey: '202611', dailySpendMinor: 5_000, monthlySpendMinor: 8_000 };
    assert.equal((await ledger.apply(authoriseOp(accountId, 4_000, { limits }))).responseCode, '00');
    assert.equal((await ledger.apply(authoriseOp(accountId, 1_001, { limits }))).responseCode, '61');
    const nextDay = { ...limits, dayKey: '20261127' };
    assert.equal((await ledger.apply(authoriseOp(accountId, 4_000, { limits: nextDay }))).responseCode, '00');
    assert.equal((await ledger.apply(authoriseOp(accountId, 1, { limits: { ...nextDay, dayKey: '20261128' } })))
      .responseCode, '61', 'the month has 8,000 spent');

    const atmCard = await freshAccount(1_000_000);
    const atm = { dayKey: '20261126', monthKey: '202611', dailySpendMinor: 1_000_000, monthlySpendMinor: 1_000_000,
      atm: { dailyAmountMinor: 30_000, dailyCount: 2 } };
    assert.equal((await ledger.apply(authoriseOp(atmCard, 20_000, { limits: atm }))).responseCode, '00');
    assert.equal((await ledger.apply(authoriseOp(atmCard, 10_001, { limits: atm }))).responseCode, '61');
    assert.equal((await ledger.apply(authoriseOp(atmCard, 5_000, { limits: atm }))).responseCode, '00');
    assert.equal((await ledger.apply(authoriseOp(atmCard, 100, { limits: atm }))).responseCode, '65');
  });

  test('settlement post lowers the balance at once and places no pending hold', async () => {
    const accountId = await freshAccount(10_000);
    const outcome = await ledger.apply(authoriseOp(accountId, 2_500, { settlement: 'post' }));
    assert.equal(outcome.status, 'approved');
    const view = await ledger.getAccount(accountId);
    assert.equal(view?.balanceMinor, 7_500);
    assert.equal(view?.availableMinor, 7_500);
    assert.equal(view?.holds.length, 0);
  });

  test('an incremental authorisation grows the original hold, checking available for the delta only', async () => {
    const accountId = await freshAccount(10_000);
    const original = authoriseOp(accountId, 6_000);
    await ledger.apply(original);
    const declined = await ledger.apply(authoriseOp(accountId, 4_001, { incrementOf: original.idempotencyKey }));
    assert.equal(declined.responseCode, '51');
    const grown = await ledger.apply(authoriseOp(accountId, 3_000, { incrementOf: original.idempotencyKey }));
    assert.equal(grown.status, 'approved');
    assert.equal(grown.holdId, original.holdId);
    const view = await ledger.getAccount(accountId);
    assert.equal(view?.holds.length, 1);
    assert.equal(view?.holds[0]?.amountMinor, 9_000);
    assert.equal(view?.availableMinor, 1_000);
  });

  test('an incremental authorisation whose original holds nothing (unknown, released) declines 12', async () => {
    const accountId = await freshAccount(10_000);
    assert.equal((await ledger.apply(authoriseOp(accountId, 100, { incrementOf: 'never-seen' }))).responseCode, '12');
    const original = authoriseOp(accountId, 1_000);
    await ledger.apply(original);
    await ledger.apply(reverseOp(accountId, { originalKey: original.idempotencyKey }));
    const late = await ledger.apply(authoriseOp(accountId, 100, { incrementOf: original.idempotencyKey }));
    assert.equal(late.responseCode, '12');
    assert.equal((await ledger.getAccount(accountId))?.availableMinor, 10_000);
  });
});

describe('advice', () => {
  test('applies without checks, may take available below zero, and flags it as overdrawn', async () => {
    const accountId = await freshAccount(1_000, 100);
    const limits = { dayKey: '20261126', monthKey: '202611', dailySpendMinor: 10, monthlySpendMinor: 10 };
    const operation = adviceOp(accountId, 1_500, { limits });
    const outcome = await ledger.apply(operation);
    assert.equal(outcome.status, 'applied');
    assert.equal(outcome.responseCode, '00');
    assert.equal(outcome.overdrawn, true);
    assert.equal(outcome.availableMinor, -400);
    const replay = await ledger.apply(operation);
    assert.equal(replay.replayed, true);
    const view = await ledger.getAccount(accountId);
    assert.equal(view?.availableMinor, -400, 'applied exactly once');
    assert.equal(view?.holds[0]?.overdrawn, true);
  });

  test('an advice within the overdraft is not flagged', async () => {
    const accountId = await freshAccount(1_000, 100);
    const outcome = await ledger.apply(adviceOp(accountId, 1_050));
    assert.equal(outcome.overdrawn, false);
    assert.equal(outcome.availableMinor, 50);
  });
});

describe('reverse', () => {
  test('a full reversal by original key releases the hold once; a repeat of it replays', async () => {
    const accountId = await freshAccount(10_000);
    const original = authoriseOp(accountId, 4_000);
    await ledger.apply(original);
    const reversal = reverseOp(accountId, { originalKey: original.idempotencyKey });
    const outcome = await ledger.apply(reversal);
    assert.equal(outcome.status, 'reversed');
    assert.equal(outcome.responseCode, '00');
    assert.equal(outcome.approvedMinor, 4_000);
    assert.equal(outcome.availableMinor, 10_000);
    assert.equal((await ledger.apply(reversal)).replayed, true);
    const second = await ledger.apply(reverseOp(accountId, { originalKey: original.idempotencyKey }));
    assert.equal(second.approvedMinor, 0, 'a second reversal of a released hold releases nothing');
    const view = await ledger.getAccount(accountId);
    assert.equal(view?.availableMinor, 10_000);
    assert.equal(view?.holds.length, 0, 'the account lists pending holds only');
  });

  test('a partial reversal (DE 95) releases down to the remaining amount', async () => {
    const accountId = await freshAccount(10_000);
    const original = authoriseOp(accountId, 4_000);
    await ledger.apply(original);
    const outcome = await ledger.apply(reverseOp(accountId, { originalKey: original.idempotencyKey, remainingMinor: 1_500 }));
    assert.equal(outcome.approvedMinor, 2_500);
    const view = await ledger.getAccount(accountId);
    assert.equal(view?.holds[0]?.amountMinor, 1_500);
    assert.equal(view?.holds[0]?.status, 'pending');
    assert.equal(view?.availableMinor, 8_500);
  });

  test('without DE 90 the original is found by RRN, then by approval code, within the account', async () => {
    const accountId = await freshAccount(10_000);
    const byRrn = authoriseOp(accountId, 1_000, { references: { rrn: '633012345678', approvalCode: 'A1B2C3' } });
    const byCode = authoriseOp(accountId, 2_000, { references: { rrn: '633000000001', approvalCode: 'Z9Y8X7' } });
    await ledger.apply(byRrn);
    await ledger.apply(byCode);
    const other = await freshAccount(10_000);
    const elsewhere = await ledger.apply(reverseOp(other, { references: { rrn: '633012345678' } }));
    assert.equal(elsewhere.status, 'original-unknown', 'references never match across accounts');
    assert.equal((await ledger.apply(reverseOp(accountId, { references: { rrn: '633012345678' } }))).approvedMinor, 1_000);
    assert.equal((await ledger.apply(reverseOp(accountId, { references: { approvalCode: 'Z9Y8X7' } }))).approvedMinor, 2_000);
    assert.equal((await ledger.getAccount(accountId))?.availableMinor, 10_000);
  });

  test('a reversal before its original is remembered: the original later holds nothing', async () => {
    const accountId = await freshAccount(10_000);
    const original = authoriseOp(accountId, 3_000);
    const early = await ledger.apply(reverseOp(accountId, { originalKey: original.idempotencyKey }));
    assert.equal(early.status, 'original-unknown');
    assert.equal(early.responseCode, '12', 'a 0400 that matches nothing');
    const late = await ledger.apply(original);
    assert.equal(late.status, 'original-reversed');
    assert.equal(late.approvedMinor, 0);
    assert.equal((await ledger.apply(original)).replayed, true);
    const view = await ledger.getAccount(accountId);
    assert.equal(view?.holds.length, 0);
    assert.equal(view?.availableMinor, 10_000);
  });

  test('an unmatched reversal advice (0420) is acknowledged with 00 and still blocks the original', async () => {
    const accountId = await freshAccount(10_000);
    const original = adviceOp(accountId, 3_000);
    const early = await ledger.apply(reverseOp(accountId, { originalKey: original.idempotencyKey, advice: true }));
    assert.equal(early.status, 'original-unknown');
    assert.equal(early.responseCode, '00');
    const late = await ledger.apply(original);
    assert.equal(late.status, 'original-reversed');
    assert.equal(late.responseCode, '00');
    assert.equal((await ledger.getAccount(accountId))?.availableMinor, 10_000);
  });

  test('a reversal of a declined original finds nothing to release: original-unknown', async () => {
    const accountId = await freshAccount(100);
    const declined = authoriseOp(accountId, 5_000);
    assert.equal((await ledger.apply(declined)).responseCode, '51');
    const reversal = await ledger.apply(reverseOp(accountId, { originalKey: declined.idempotencyKey }));
    assert.equal(reversal.status, 'original-unknown');
    assert.equal((await ledger.apply(declined)).responseCode, '51', 'the original still replays its decline');
  });

  test('reversing a single-message (posted) transaction refunds the balance', async () => {
    const accountId = await freshAccount(10_000);
    const original = authoriseOp(accountId, 2_000, { settlement: 'post' });
    await ledger.apply(original);
    const outcome = await ledger.apply(reverseOp(accountId, { originalKey: original.idempotencyKey }));
    assert.equal(outcome.approvedMinor, 2_000);
    assert.equal((await ledger.getAccount(accountId))?.balanceMinor, 10_000);
  });

  test('a reversal gives its amount back to the spend counters', async () => {
    const accountId = await freshAccount(1_000_000);
    const limits = { dayKey: '20261126', monthKey: '202611', dailySpendMinor: 5_000, monthlySpendMinor: 50_000 };
    const original = authoriseOp(accountId, 5_000, { limits });
    await ledger.apply(original);
    assert.equal((await ledger.apply(authoriseOp(accountId, 1, { limits }))).responseCode, '61');
    await ledger.apply(reverseOp(accountId, { originalKey: original.idempotencyKey }));
    assert.equal((await ledger.apply(authoriseOp(accountId, 5_000, { limits }))).responseCode, '00');
  });
});

describe('admin steps', () => {
  test('credit is applied once per key; debit with a hold id posts that hold', async () => {
    const accountId = await freshAccount(1_000);
    const shard = shardOf(accountId);
    await ledger.credit(accountId, 500, 'credit-a', shard, TOKEN);
    const twice = await ledger.credit(accountId, 500, 'credit-a', shard, TOKEN);
    assert.equal(twice?.balanceMinor, 1_500);
    const auth = authoriseOp(accountId, 600);
    await ledger.apply(auth);
    const posted = await ledger.debit(accountId, 550, auth.holdId, 'debit-a', shard, TOKEN);
    assert.equal(posted?.balanceMinor, 950);
    assert.equal(posted?.availableMinor, 950, 'the posted hold no longer counts against available');
    assert.equal(posted?.holds.find((hold) => hold.holdId === auth.holdId), undefined, 'no longer pending');
    assert.equal((await ledger.debit(accountId, 550, auth.holdId, 'debit-a', shard, TOKEN))?.balanceMinor, 950);
  });

  test('a debit naming a hold that is not pending on the account changes nothing', async () => {
    const accountId = await freshAccount(1_000);
    const shard = shardOf(accountId);
    assert.equal(await ledger.debit(accountId, 100, 'no-such-hold', 'debit-x', shard, TOKEN), undefined);
    const auth = authoriseOp(accountId, 300);
    await ledger.apply(auth);
    await ledger.apply(reverseOp(accountId, { originalKey: auth.idempotencyKey }));
    assert.equal(await ledger.debit(accountId, 300, auth.holdId, 'debit-y', shard, TOKEN), undefined);
    assert.equal((await ledger.getAccount(accountId))?.balanceMinor, 1_000);
    assert.equal((await ledger.debit(accountId, 250, undefined, 'force-post', shard, TOKEN))?.balanceMinor, 750,
      'a clearing with no hold is a force post');
  });

  test('unknown accounts: getAccount undefined, credit undefined, authorise declined without a record', async () => {
    assert.equal(await ledger.getAccount('nobody'), undefined);
    assert.equal(await ledger.credit('nobody', 1, 'k', shardOf('nobody'), TOKEN), undefined);
    const operation = authoriseOp('nobody', 100);
    assert.equal((await ledger.apply(operation)).status, 'declined');
    await putAccount(ledger, 'nobody', 1_000);
    assert.equal((await ledger.apply(operation)).status, 'approved', 'decided afresh once the account exists');
  });

  test('putAccount replaces the balance but keeps the pending holds', async () => {
    const accountId = await freshAccount(1_000);
    await ledger.apply(authoriseOp(accountId, 400));
    await putAccount(ledger, accountId, 2_000);
    assert.equal((await ledger.getAccount(accountId))?.availableMinor, 1_600);
  });

  test('an operation naming the wrong shard for its account is refused before touching Redis', async () => {
    const accountId = await freshAccount(1_000);
    const wrongShard = (shardOf(accountId) + 1) % 8;
    await assert.rejects(ledger.apply(authoriseOp(accountId, 1, { shard: wrongShard })), RangeError);
  });
});

describe('expiry sweep', () => {
  test('releases only holds whose expiry passed, once, and reports them', async () => {
    const accountId = await freshAccount(10_000);
    const shard = shardOf(accountId);
    const soon = authoriseOp(accountId, 1_000, { expiresAtMs: NOW + DAY_MS });
    const later = authoriseOp(accountId, 2_000, { expiresAtMs: NOW + 3 * DAY_MS });
    await ledger.apply(soon);
    await ledger.apply(later);
    const first = await ledger.expireHolds(shard, NOW + DAY_MS, TOKEN);
    const mine = first.expired.filter((hold) => hold.accountId === accountId);
    assert.deepEqual(mine.map((hold) => [hold.holdId, hold.amountMinor, hold.status]), [[soon.holdId, 1_000, 'expired']]);
    assert.equal((await ledger.expireHolds(shard, NOW + DAY_MS, TOKEN)).expired
      .filter((hold) => hold.accountId === accountId).length, 0);
    const view = await ledger.getAccount(accountId);
    assert.equal(view?.availableMinor, 8_000);
    assert.deepEqual(view?.holds.map((hold) => hold.holdId), [later.holdId]);
    const reversal = await ledger.apply(reverseOp(accountId, { originalKey: soon.idempotencyKey }));
    assert.equal(reversal.approvedMinor, 0, 'an expired hold is not released twice');
  });

  test('works through more due holds than one batch', async () => {
    const small = uniquePrefix();
    const batched = await openLedger(small, { expiryBatchSize: 7 });
    try {
      await claimAll(batched);
      const accountId = 'sweep-many';
      await batched.putAccount({ accountId, currency: '826', balanceMinor: 1_000_000, overdraftMinor: 0 },
        shardOf(accountId), TOKEN);
      for (let index = 0; index < 30; index += 1) {
        await batched.apply(authoriseOp(accountId, 10, { expiresAtMs: NOW + index }));
      }
      const report = await batched.expireHolds(shardOf(accountId), NOW + 1_000, TOKEN);
      assert.equal(report.expired.length, 30);
      assert.equal((await batched.getAccount(accountId))?.availableMinor, 1_000_000);
    } finally {
      await batched.close();
      await dropPrefix(small);
    }
  });
});
