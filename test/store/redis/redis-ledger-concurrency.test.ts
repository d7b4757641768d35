// No overdraft under concurrency: thousands of authorisations on one account, issued at once from two
// independent Redis connections (as two gateway processes would), never hold more than was available,
// and what is held equals exactly what was approved.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LedgerOutcome } from '../../../src/authorise/ledger';
import type { RedisLedger } from '../../../src/store/redis/redis-ledger';
import { authoriseOp, claimAll, dropPrefix, openLedger, putAccount, reverseOp, uniquePrefix } from './ledger-fixture';

const prefix = uniquePrefix();
let first: RedisLedger;
let second: RedisLedger;

before(async () => {
  // The account view lists every hold here (default 500) so the test can sum them all.
  first = await openLedger(prefix, { accountViewHoldLimit: 10_000 });
  second = await openLedger(prefix, { accountViewHoldLimit: 10_000 });
  await claimAll(first);
});

after(async () => {
  await first.close();
  await second.close();
  await dropPrefix(prefix);
});

function sumApproved(outcomes: LedgerOutcome[]): number {
  return outcomes.reduce((total, outcome) =>
    (outcome.status === 'approved' || outcome.status === 'partial' ? total + outcome.approvedMinor : total), 0);
}

test('2,000 concurrent authorisations from two connections never hold more than the available balance', async () => {
  const accountId = 'hot-account';
  const balance = 50_000;
  const overdraft = 5_000;
  await putAccount(first, accountId, balance, overdraft);
  // Amounts of 1..97 minor units: 2,000 of them ask for about 98,000, well past the 55,000 available.
  const operations = Array.from({ length: 2_000 }, (_, index) =>
    authoriseOp(accountId, 1 + (index * 37) % 97, { allowPartial: index % 5 === 0 }));
  const outcomes = await Promise.all(operations.map((operation, index) =>
    (index % 2 === 0 ? first : second).apply(operation)));

  const approved = sumApproved(outcomes);
  const view = await first.getAccount(accountId);
  assert.ok(view !== undefined);
  const held = view.holds.filter((hold) => hold.status === 'pending').reduce((total, hold) => total + hold.amountMinor, 0);
  assert.ok(outcomes.some((outcome) => outcome.responseCode === '51'), 'demand exceeded supply, so some declined');
  assert.equal(held, approved, 'held total equals the sum of approved amounts');
  assert.ok(held <= balance + overdraft, `held ${held} exceeds available ${balance + overdraft}`);
  assert.equal(view.availableMinor, balance + overdraft - held);
  assert.ok(view.availableMinor >= 0);
  // Every approval has its own hold: no hold was lost or merged.
  assert.equal(view.holds.length, outcomes.filter((outcome) => outcome.holdId !== undefined).length);
});

test('concurrent repeats of the same key from both connections place one hold', async () => {
  const accountId = 'repeat-account';
  await putAccount(first, accountId, 10_000);
  const operation = authoriseOp(accountId, 700);
  const outcomes = await Promise.all(Array.from({ length: 200 }, (_, index) =>
    (index % 2 === 0 ? first : second).apply(operation)));
  assert.equal(outcomes.filter((outcome) => !outcome.replayed).length, 1);
  assert.ok(outcomes.every((outcome) => outcome.holdId === operation.holdId && outcome.approvedMinor === 700));
  assert.equal((await first.getAccount(accountId))?.availableMinor, 9_300);
});

test('concurrent authorisations and reversals leave held = approved - released', async () => {
  const accountId = 'churn-account';
  await putAccount(first, accountId, 50_000);
  const authorisations = Array.from({ length: 600 }, (_, index) => authoriseOp(accountId, 50 + (index % 150)));
  // A reversal per third authorisation, issued in the same burst: some arrive before their original.
  const reversals = authorisations.filter((_, index) => index % 3 === 0)
    .map((original) => reverseOp(accountId, { originalKey: original.idempotencyKey }));
  const work: Promise<LedgerOutcome>[] = [];
  authorisations.forEach((operation, index) => {
    work.push((index % 2 === 0 ? first : second).apply(operation));
    if (index % 3 === 0) work.push((index % 2 === 0 ? second : first).apply(reversals[index / 3]!));
  });
  const outcomes = await Promise.all(work);
  const released = outcomes.filter((outcome) => outcome.status === 'reversed')
    .reduce((total, outcome) => total + outcome.approvedMinor, 0);
  const view = await first.getAccount(accountId);
  assert.ok(view !== undefined);
  const held = view.holds.filter((hold) => hold.status === 'pending').reduce((total, hold) => total + hold.amountMinor, 0);
  assert.equal(held, sumApproved(outcomes) - released);
  assert.equal(view.availableMinor, 50_000 - held);
  // A reversed original holds nothing, whichever came first.
  for (const reversal of reversals) {
    const original = view.holds.find((hold) => hold.idempotencyKey === reversal.originalKey);
    assert.ok(original === undefined || original.status === 'released', 'a reversed authorisation is not pending');
  }
});
