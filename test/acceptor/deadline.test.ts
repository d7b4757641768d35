/**
 * The latency budget: the stand-in answer at the deadline, the late decision reconciled with it,
 * requests already past their deadline when their turn comes, and overload shedding at the adaptive
 * in-flight limit. The ledger and decision log are the real embedded ones, slowed by a delay so the
 * decision misses the deadline on purpose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { IsoMessage, loadDialect } from '../../src/iso8583';
import { LinkExchange, type ExchangeConnection } from '../../src/network-link/link-exchange';
import { Acceptor, type StandInPolicy } from '../../src/acceptor/acceptor';
import { Authoriser } from '../../src/authorise/authoriser';
import { MemoryLedger } from '../../src/authorise/memory-ledger';
import type { LedgerOperation, LedgerOutcome } from '../../src/authorise/ledger';
import { FileDecisionLog } from '../../src/store/file-decision-log';
import type { DecisionRecord } from '../../src/authorise/decision-log';
import { AuthorisationMetrics } from '../../src/metrics/authorisation-metrics';
import { createLogger } from '../../src/log/logger';
import { schemeMessage } from '../support/gateway-harness';
import { embeddedPartsWithOneCard } from '../support/embedded-parts';

class SlowLedger extends MemoryLedger {
  delayMs = 0;
  applied = 0;
  /** This many calls fail (after the delay) before calls succeed again. */
  failuresLeft = 0;
  /** This many reversals fail (a stand-in 91's release of a late approval) before they succeed. */
  reversalFailuresLeft = 0;
  /** Reversals are refused as fenced (the shard moved to another instance). */
  fenceReversals = false;
  /** This many authorisations run, then fail as a timeout would: the caller cannot tell they ran. */
  runThenFailLeft = 0;
  override async apply(operation: LedgerOperation): Promise<LedgerOutcome> {
    this.applied++;
    if (this.delayMs > 0) await sleep(this.delayMs);
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('ledger unavailable (test)');
    }
    if (operation.kind === 'reverse' && this.reversalFailuresLeft > 0) {
      this.reversalFailuresLeft--;
      throw new Error('ledger unavailable for the release (test)');
    }
    if (operation.kind === 'authorise' && this.runThenFailLeft > 0) {
      this.runThenFailLeft--;
      this.applyNow(operation);
      throw new Error('Command timed out (test)');
    }
    if (operation.kind === 'reverse' && this.fenceReversals) {
      return { status: 'fenced', responseCode: '91', approvedMinor: 0, replayed: false, overdrawn: false, availableMinor: 0 };
    }
    return this.applyNow(operation);
  }
}

/**
 * A decision log whose first hot write of a key takes 20 ms and whose second hot write of the same
 * key fails: a duplicate arriving while the original's record is being written cannot make its own.
 */
class SecondWriteOfAKeyFailsLog extends FileDecisionLog {
  private readonly writes = new Map<string, number>();
  override async append(record: DecisionRecord): Promise<void> {
    const count = (this.writes.get(record.idempotencyKey) ?? 0) + 1;
    this.writes.set(record.idempotencyKey, count);
    if (count > 1) throw new Error('decision write not acknowledged within the hot bound (test)');
    await sleep(20);
    return super.append(record);
  }
}

/** A decision log whose first hot write of each key fails; later and patient writes go through. */
class FirstWriteOfAKeyFailsLog extends FileDecisionLog {
  private readonly seen = new Set<string>();
  override append(record: DecisionRecord): Promise<void> {
    if (!this.seen.has(record.idempotencyKey)) {
      this.seen.add(record.idempotencyKey);
      return Promise.reject(new Error('decision write not acknowledged within the hot bound (test)'));
    }
    return super.append(record);
  }
  override appendPatiently(record: DecisionRecord): Promise<void> {
    return super.append(record);
  }
}

/** A decision log whose hot bound always fails for stand-in records: only a patient write gets them in. */
class HotBoundMissingLog extends FileDecisionLog {
  override append(record: DecisionRecord): Promise<void> {
    if (record.standIn) return Promise.reject(new Error('decision write not acknowledged within the hot bound (test)'));
    return super.append(record);
  }
  override appendPatiently(record: DecisionRecord): Promise<void> {
    return super.append(record);
  }
}

class CapturingConnection implements ExchangeConnection {
  readonly linkName = 'test';
  readonly dialect = loadDialect('ascii');
  readonly isOpen = true;
  readonly responses: { message: IsoMessage; atMs: number }[] = [];
  duplicateResponds = 0;
  completeExchange(_exchange: LinkExchange, response: IsoMessage): void {
    this.responses.push({ message: response, atMs: performance.now() });
  }
  countDuplicateRespond(): void {
    this.duplicateResponds++;
  }
}

const PAN = '5555555555554444';
const BUDGET_MS = 60;
const MARGIN_MS = 10;

async function setUp(policy: StandInPolicy, balanceMinor: number,
  shedding?: { minInflight: number; maxInflight: number }, DecisionLogClass = FileDecisionLog) {
  const ledger = new SlowLedger({ retentionMs: 86_400_000 });
  const accountId = 'acct-deadline';
  const { cards, shards, panHasher } = await embeddedPartsWithOneCard(ledger,
    { pan: PAN, accountId, cardId: 'card-deadline', balanceMinor });
  const decisions = new DecisionLogClass({ path: join(mkdtempSync(join(tmpdir(), 'deadline-')), 'd.jsonl'),
    recentPerCard: 50, maxKeys: 1000 });
  const authoriser = new Authoriser({ cards, ledger, shards, decisions, panHasher,
    settings: { holdExpiryDays: 7, recentDecisions: 100 } });
  const registry = new Registry();
  const metrics = new AuthorisationMetrics(registry, BUDGET_MS);
  const quiet = createLogger({ level: 'silent', destination: new Writable({ write(_c, _e, done) { done(); } }) });
  const acceptor = new Acceptor(authoriser, { budgetMs: BUDGET_MS, deadlineMarginMs: MARGIN_MS,
    standIn: { policy, maxAmountMinor: 5_000 }, shedding }, metrics, quiet);
  return { ledger, decisions, acceptor, accountId, registry, cards, shards, panHasher, quiet, authoriser };
}

/** Hands one request to the acceptor, waits until nothing is in flight, and gives the answer's DE 39. */
async function answerOf(acceptor: Acceptor, connection: CapturingConnection, request: IsoMessage,
  idleMs = 2_000): Promise<string | undefined> {
  acceptor.handleRequest(request, new LinkExchange(connection, request, performance.now(), null));
  assert.equal(await acceptor.whenIdle(idleMs), true);
  return connection.responses.at(-1)?.message.getString(39);
}

/** Another authoriser and acceptor over the same ledger and record, with nothing remembered (a restart). */
function freshAcceptorOver(parts: Awaited<ReturnType<typeof setUp>>): { authoriser: Authoriser; acceptor: Acceptor } {
  const authoriser = new Authoriser({ cards: parts.cards, ledger: parts.ledger, shards: parts.shards,
    decisions: parts.decisions, panHasher: parts.panHasher, settings: { holdExpiryDays: 7, recentDecisions: 100 } });
  const acceptor = new Acceptor(authoriser, { budgetMs: BUDGET_MS, deadlineMarginMs: MARGIN_MS,
    standIn: { policy: 'decline', maxAmountMinor: 5_000 } }, new AuthorisationMetrics(new Registry(), BUDGET_MS), parts.quiet);
  return { authoriser, acceptor };
}

test('a decision that misses the deadline is answered 91 by the stand-in policy, once, and its hold released', async () => {
  const { ledger, decisions, acceptor, accountId, registry } = await setUp('decline', 10_000);
  ledger.delayMs = 150;
  const connection = new CapturingConnection();
  const request = schemeMessage({ pan: PAN, amountMinor: 2_000, stan: '000777', transmissionDateTime: '1126130000' });
  const arrivalMs = performance.now();
  acceptor.handleRequest(request, new LinkExchange(connection, request, arrivalMs, null));
  assert.equal(await acceptor.whenIdle(2_000), true);
  assert.equal(connection.responses.length, 1, 'exactly one response');
  assert.equal(connection.duplicateResponds, 0);
  const answered = connection.responses[0]!;
  assert.equal(answered.message.getString(39), '91');
  const answeredAfterMs = answered.atMs - arrivalMs;
  assert.ok(answeredAfterMs >= BUDGET_MS - MARGIN_MS - 1 && answeredAfterMs < BUDGET_MS + 20,
    `answered at ${answeredAfterMs.toFixed(1)} ms`);
  const account = await ledger.getAccount(accountId);
  assert.equal(account?.availableMinor, 10_000, 'the late approval left no hold');
  const records = await decisions.recentForCard('card-deadline', 10);
  assert.ok(records.some((record) => record.standIn && record.responseCode === '91'), 'the stand-in is recorded');
  assert.match(await registry.metrics(), /^gateway_budget_misses_total 1$/m);
  acceptor.close();
  await decisions.close();
});

test('a stand-in approval that the ledger would have declined is held as an advice would be, under the approval code sent', async () => {
  const { ledger, decisions, acceptor, accountId } = await setUp('approve-within-limits', 1_000);
  ledger.delayMs = 150;
  const connection = new CapturingConnection();
  const request = schemeMessage({ pan: PAN, amountMinor: 2_000, stan: '000778', transmissionDateTime: '1126130100' });
  acceptor.handleRequest(request, new LinkExchange(connection, request, performance.now(), null));
  assert.equal(await acceptor.whenIdle(2_000), true);
  assert.equal(connection.responses.length, 1);
  assert.equal(connection.responses[0]!.message.getString(39), '00');
  const account = await ledger.getAccount(accountId);
  assert.equal(account?.availableMinor, 1_000 - 2_000, 'what the scheme was told is held');
  const sentApprovalCode = connection.responses[0]!.message.getString(38);
  assert.match(sentApprovalCode ?? '', /^[0-9A-Z]{6}$/);
  const standInRecord = (await decisions.recentForCard('card-deadline', 10)).find((record) => record.standIn);
  assert.equal(standInRecord?.approvalCode, sentApprovalCode, 'the stand-in record keeps the DE 38 the scheme got');
  acceptor.close();
  await decisions.close();
});

test('a request already past its deadline when its turn comes is answered without being processed', async () => {
  const { ledger, decisions, acceptor } = await setUp('decline', 10_000);
  const connection = new CapturingConnection();
  const request = schemeMessage({ pan: PAN, amountMinor: 100 });
  acceptor.handleRequest(request, new LinkExchange(connection, request, performance.now() - BUDGET_MS, null));
  assert.equal(connection.responses.length, 1);
  assert.equal(connection.responses[0]!.message.getString(39), '91');
  assert.equal(ledger.applied, 0, 'the ledger was never asked');
  acceptor.close();
  await decisions.close();
});

test('decisions inside the budget are answered by the decision, not the stand-in', async () => {
  const { decisions, acceptor } = await setUp('decline', 10_000);
  const connection = new CapturingConnection();
  for (let i = 0; i < 20; i++) {
    const request = schemeMessage({ pan: PAN, amountMinor: 100 });
    acceptor.handleRequest(request, new LinkExchange(connection, request, performance.now(), null));
  }
  assert.equal(await acceptor.whenIdle(2_000), true);
  await sleep(BUDGET_MS);
  assert.equal(connection.responses.length, 20);
  assert.ok(connection.responses.every((response) => response.message.getString(39) === '00'));
  acceptor.close();
  await decisions.close();
});

test('an advice already past its deadline when its turn comes is acknowledged and still applied', async () => {
  const { ledger, decisions, acceptor, accountId } = await setUp('decline', 10_000);
  const connection = new CapturingConnection();
  const advice = schemeMessage({ mti: '0120', pan: PAN, amountMinor: 700, approvalCode: 'A1B2C3' });
  acceptor.handleRequest(advice, new LinkExchange(connection, advice, performance.now() - BUDGET_MS, null));
  assert.equal(connection.responses.length, 1, 'acknowledged at once');
  assert.equal(connection.responses[0]!.message.getString(39), '00');
  assert.equal(await acceptor.whenIdle(2_000), true);
  assert.equal(ledger.applied, 1, 'the advice reached the ledger');
  const account = await ledger.getAccount(accountId);
  assert.equal(account?.availableMinor, 10_000 - 700, 'what the scheme already did is on the account');
  assert.equal(connection.responses.length, 1, 'no second response');
  acceptor.close();
  await decisions.close();
});

test('at the adaptive in-flight limit an authorisation is answered 91 at once, without a decision', async () => {
  const { ledger, decisions, acceptor, registry } = await setUp('decline', 10_000, { minInflight: 2, maxInflight: 2 });
  ledger.delayMs = 150;
  const connection = new CapturingConnection();
  const send = () => {
    const request = schemeMessage({ pan: PAN, amountMinor: 100 });
    const arrivalMs = performance.now();
    acceptor.handleRequest(request, new LinkExchange(connection, request, arrivalMs, null));
    return arrivalMs;
  };
  send();
  send();
  assert.equal(connection.responses.length, 0, 'two in flight, inside the limit');
  const shedAt = [send(), send(), send()];
  assert.equal(connection.responses.length, 3, 'the three beyond the limit are answered at once');
  connection.responses.forEach((response, i) => {
    assert.equal(response.message.getString(39), '91');
    assert.ok(response.atMs - shedAt[i]! < BUDGET_MS / 2, 'answered well before the deadline');
  });
  assert.equal(ledger.applied, 2, 'only the two in flight reached the ledger');
  assert.match(await registry.metrics(), /^gateway_shed_total 3$/m);
  assert.match(await registry.metrics(), /^gateway_concurrency_limit 2$/m);
  assert.equal(await acceptor.whenIdle(2_000), true);
  assert.equal(connection.responses.length, 5, 'the two in flight answered too, once each');
  assert.match(await registry.metrics(), /^gateway_budget_misses_total 2$/m, 'only the two decided late missed the budget');
  acceptor.close();
  await decisions.close();
});

test('at the limit advices and requests the stand-in would approve are decided; only a stand-in decline is shed', async () => {
  const { ledger, decisions, acceptor, accountId } = await setUp('approve-within-limits', 10_000,
    { minInflight: 1, maxInflight: 1 });
  ledger.delayMs = 30;
  const connection = new CapturingConnection();
  const submit = (request: IsoMessage) =>
    acceptor.handleRequest(request, new LinkExchange(connection, request, performance.now(), null));
  submit(schemeMessage({ pan: PAN, amountMinor: 1_000 }));
  submit(schemeMessage({ mti: '0120', pan: PAN, amountMinor: 700, approvalCode: 'A1B2C3' }));
  submit(schemeMessage({ pan: PAN, amountMinor: 2_000 }));
  assert.equal(connection.responses.length, 0, 'the advice and the approvable request were not shed');
  const aboveStandInLimit = schemeMessage({ pan: PAN, amountMinor: 6_000 });
  submit(aboveStandInLimit);
  assert.equal(connection.responses.length, 1, 'the request the stand-in would decline is answered at once');
  assert.equal(connection.responses[0]!.message.getString(11), aboveStandInLimit.getString(11));
  assert.equal(connection.responses[0]!.message.getString(39), '91');
  assert.equal(await acceptor.whenIdle(2_000), true);
  assert.equal(ledger.applied, 3, 'the three admitted reached the ledger, the shed one did not');
  const account = await ledger.getAccount(accountId);
  assert.equal(account?.availableMinor, 10_000 - 1_000 - 700 - 2_000);
  assert.equal(connection.responses.length, 4);
  acceptor.close();
  await decisions.close();
});

/** One 2,000 authorisation approved by the stand-in at the deadline, whose ledger fails `failures` times. */
async function standInApprovalWithFailingLedger(failures: number) {
  const parts = await setUp('approve-within-limits', 10_000);
  parts.ledger.delayMs = 150;
  parts.ledger.failuresLeft = failures;
  const connection = new CapturingConnection();
  const request = schemeMessage({ pan: PAN, amountMinor: 2_000 });
  parts.acceptor.handleRequest(request, new LinkExchange(connection, request, performance.now(), null));
  assert.equal(await parts.acceptor.whenIdle(6_000), true);
  assert.equal(connection.responses.length, 1, 'one answer, whatever the retries');
  assert.equal(connection.responses[0]!.message.getString(39), '00', 'approved by the stand-in at the deadline');
  const account = await parts.ledger.getAccount(parts.accountId);
  const metrics = await parts.registry.metrics();
  parts.acceptor.close();
  await parts.decisions.close();
  return { applied: parts.ledger.applied, availableMinor: account?.availableMinor, metrics };
}

test('a stand-in approval whose decision fails is decided again until the ledger holds what the scheme was told', async () => {
  const { applied, availableMinor, metrics } = await standInApprovalWithFailingLedger(1);
  assert.equal(applied, 2, 'the failed decision was tried again');
  assert.equal(availableMinor, 10_000 - 2_000, 'the approval is held');
  assert.match(metrics, /^gateway_stand_in_not_applied_total 0$/m);
});

test('a stand-in approval whose decision fails every retry is counted for a person to put right', async () => {
  const { applied, availableMinor, metrics } = await standInApprovalWithFailingLedger(100);
  assert.equal(applied, 4, 'one attempt and three retries');
  assert.equal(availableMinor, 10_000, 'nothing could be held');
  assert.match(metrics, /^gateway_stand_in_not_applied_total 1$/m);
});

/**
 * One 2,000 authorisation approved late and answered 91 by the stand-in, whose release fails
 * `failures` times, or is always refused as fenced.
 */
async function lateApprovalWithFailingRelease(failures: number, fenced = false) {
  const parts = await setUp('decline', 10_000, undefined, HotBoundMissingLog);
  parts.ledger.delayMs = 150;
  parts.ledger.reversalFailuresLeft = failures;
  parts.ledger.fenceReversals = fenced;
  const connection = new CapturingConnection();
  const request = schemeMessage({ pan: PAN, amountMinor: 2_000, stan: '000901', transmissionDateTime: '1127010000' });
  parts.acceptor.handleRequest(request, new LinkExchange(connection, request, performance.now(), null));
  assert.equal(await parts.acceptor.whenIdle(6_000), true);
  assert.equal(connection.responses.length, 1, 'one answer, whatever the retries');
  assert.equal(connection.responses[0]!.message.getString(39), '91');
  const account = await parts.ledger.getAccount(parts.accountId);
  const standInRecords = (await parts.decisions.recentForCard('card-deadline', 10)).filter((record) => record.standIn);
  const metrics = await parts.registry.metrics();
  parts.acceptor.close();
  await parts.decisions.close();
  return { availableMinor: account?.availableMinor, standInRecords, metrics };
}

test('a late approval answered 91 whose release fails is released on a retry, and its stand-in record written patiently', async () => {
  const { availableMinor, standInRecords, metrics } = await lateApprovalWithFailingRelease(2);
  assert.equal(availableMinor, 10_000, 'the hold of the approval the scheme never saw is released');
  assert.equal(standInRecords.length, 1, 'one stand-in record, through the patient write (the hot one always fails here)');
  assert.equal(standInRecords[0]!.responseCode, '91');
  assert.match(metrics, /^gateway_stand_in_not_reconciled_total 0$/m);
});

test('a late approval whose release fails every retry is counted for a person to put right', async () => {
  const { availableMinor, standInRecords, metrics } = await lateApprovalWithFailingRelease(100);
  assert.equal(availableMinor, 10_000 - 2_000, 'the hold could not be released');
  assert.equal(standInRecords.length, 0);
  assert.match(metrics, /^gateway_stand_in_not_reconciled_total 1$/m);
});

test('a late approval whose release is fenced (the shard moved) is retried and counted, not taken as reconciled', async () => {
  const { availableMinor, standInRecords, metrics } = await lateApprovalWithFailingRelease(0, true);
  assert.equal(availableMinor, 10_000 - 2_000, 'still held');
  assert.equal(standInRecords.length, 0);
  assert.match(metrics, /^gateway_stand_in_not_reconciled_total 1$/m);
});

test('a duplicate or repeat after a stand-in answer gets what the scheme was told, from memory and from the record', async () => {
  const parts = await setUp('decline', 10_000);
  parts.ledger.delayMs = 150;
  const fields = { pan: PAN, amountMinor: 2_000, stan: '000903', transmissionDateTime: '1127010200' };
  const connection = new CapturingConnection();
  const original = schemeMessage(fields);
  parts.acceptor.handleRequest(original, new LinkExchange(connection, original, performance.now(), null));
  assert.equal(await parts.acceptor.whenIdle(6_000), true);
  assert.equal(connection.responses[0]!.message.getString(39), '91', 'answered by stand-in; decided 00 late and released');
  parts.ledger.delayMs = 0;
  const duplicate = schemeMessage(fields);
  parts.acceptor.handleRequest(duplicate, new LinkExchange(connection, duplicate, performance.now(), null));
  assert.equal(await parts.acceptor.whenIdle(2_000), true);
  assert.equal(connection.responses[1]!.message.getString(39), '91', 'the duplicate, from the recent decisions');
  assert.equal(connection.responses[1]!.message.getString(38), undefined, 'no approval code');

  // Another authoriser on the same ledger and record (a restart, or the recent decisions evicted).
  const { acceptor: freshAcceptor } = freshAcceptorOver(parts);
  const repeat = schemeMessage({ ...fields, mti: '0101' });
  const again = schemeMessage(fields);
  freshAcceptor.handleRequest(repeat, new LinkExchange(connection, repeat, performance.now(), null));
  freshAcceptor.handleRequest(again, new LinkExchange(connection, again, performance.now(), null));
  assert.equal(await freshAcceptor.whenIdle(2_000), true);
  assert.equal(connection.responses[2]!.message.getString(39), '91', 'the repeat, from the stand-in record');
  assert.equal(connection.responses[3]!.message.getString(39), '91', 'the duplicate, through the ledger\'s replay');
  assert.equal((await parts.ledger.getAccount(parts.accountId))?.availableMinor, 10_000, 'nothing held');
  freshAcceptor.close();
  parts.acceptor.close();
  await parts.decisions.close();
});

test('the stand-in never approves a refund: only purchases, cash and cashback within the limit', async () => {
  const parts = await setUp('approve-within-limits', 10_000);
  const connection = new CapturingConnection();
  // Both already past their deadline when their turn comes: answered by the stand-in policy at once.
  const purchase = schemeMessage({ pan: PAN, amountMinor: 2_000 });
  const refund = schemeMessage({ pan: PAN, amountMinor: 2_000, processingCode: '200000' });
  for (const request of [purchase, refund]) {
    parts.acceptor.handleRequest(request, new LinkExchange(connection, request, performance.now() - BUDGET_MS, null));
  }
  assert.equal(await parts.acceptor.whenIdle(2_000), true);
  assert.equal(connection.responses[0]!.message.getString(39), '00', 'a purchase within the limit is approved by stand-in');
  assert.equal(connection.responses[1]!.message.getString(39), '91', 'a refund is not');
  assert.equal((await parts.ledger.getAccount(parts.accountId))?.availableMinor, 10_000 - 2_000,
    'only the purchase is held');
  parts.acceptor.close();
  await parts.decisions.close();
});

test('a duplicate whose own record fails while the original is in flight does not release the original\'s hold', async () => {
  const parts = await setUp('decline', 10_000, undefined, SecondWriteOfAKeyFailsLog);
  const connection = new CapturingConnection();
  const fields = { pan: PAN, amountMinor: 2_000, stan: '000904', transmissionDateTime: '1127010300' };
  const original = schemeMessage(fields);
  const duplicate = schemeMessage(fields);
  parts.acceptor.handleRequest(original, new LinkExchange(connection, original, performance.now(), null));
  parts.acceptor.handleRequest(duplicate, new LinkExchange(connection, duplicate, performance.now(), null));
  assert.equal(await parts.acceptor.whenIdle(2_000), true);
  const codes = connection.responses.map((response) => response.message.getString(39)).sort();
  assert.deepEqual(codes, ['00', '91'], 'the original approved, the duplicate unable to record');
  assert.equal((await parts.ledger.getAccount(parts.accountId))?.availableMinor, 10_000 - 2_000,
    'the approval the scheme was told of is still held');
  parts.acceptor.close();
  await parts.decisions.close();
});

test('an authorisation whose ledger step failed but ran is answered 96 and what it held is released', async () => {
  const parts = await setUp('decline', 10_000);
  parts.ledger.runThenFailLeft = 1;
  const connection = new CapturingConnection();
  const fields = { pan: PAN, amountMinor: 2_000, stan: '000905', transmissionDateTime: '1127010400' };
  assert.equal(await answerOf(parts.acceptor, connection, schemeMessage(fields)), '96');
  await parts.authoriser.correctionsWritten(3_000);
  assert.equal((await parts.ledger.getAccount(parts.accountId))?.availableMinor, 10_000,
    'the hold the failed step placed is released');
  // A copy of the same request is given the decline that was answered, from its record.
  assert.equal(await answerOf(parts.acceptor, connection, schemeMessage(fields)), '96');
  assert.equal((await parts.ledger.getAccount(parts.accountId))?.availableMinor, 10_000);
  assert.match(await parts.registry.metrics(), /^gateway_failed_step_not_released_total 0$/m);
  parts.acceptor.close();
  await parts.decisions.close();
});

test('a copy whose ledger step failed does not release the hold of the original already approved', async () => {
  const parts = await setUp('decline', 10_000);
  const connection = new CapturingConnection();
  const fields = { pan: PAN, amountMinor: 2_000, stan: '000906', transmissionDateTime: '1127010500' };
  assert.equal(await answerOf(parts.acceptor, connection, schemeMessage(fields)), '00');
  // The copy reaches another authoriser (nothing remembered): its ledger step replays, then fails.
  const fresh = freshAcceptorOver(parts);
  parts.ledger.runThenFailLeft = 1;
  assert.equal(await answerOf(fresh.acceptor, connection, schemeMessage(fields)), '96');
  await fresh.authoriser.correctionsWritten(3_000);
  assert.equal((await parts.ledger.getAccount(parts.accountId))?.availableMinor, 10_000 - 2_000,
    'the approved original is still held');
  fresh.acceptor.close();
  parts.acceptor.close();
  await parts.decisions.close();
});

test('a stand-in approval decided again after its ledger step failed but ran is held once, not twice', async () => {
  const parts = await setUp('approve-within-limits', 10_000, undefined, FirstWriteOfAKeyFailsLog);
  parts.ledger.delayMs = 150;
  // First try: the step holds, then fails as a timeout would. The retry replays that hold, and its
  // record fails: the replayed hold is released, and the stand-in's own hold placed.
  parts.ledger.runThenFailLeft = 1;
  const connection = new CapturingConnection();
  const request = schemeMessage({ pan: PAN, amountMinor: 2_000, stan: '000907', transmissionDateTime: '1127010600' });
  parts.acceptor.handleRequest(request, new LinkExchange(connection, request, performance.now(), null));
  assert.equal(await parts.acceptor.whenIdle(6_000), true);
  await parts.authoriser.correctionsWritten(3_000);
  assert.equal(connection.responses[0]!.message.getString(39), '00', 'approved by the stand-in');
  assert.equal((await parts.ledger.getAccount(parts.accountId))?.availableMinor, 10_000 - 2_000, 'held once');
  parts.acceptor.close();
  await parts.decisions.close();
});
