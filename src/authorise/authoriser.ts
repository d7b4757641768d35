/**
 * From a typed scheme request to a durable decision: card lookup, rules, one atomic ledger step,
 * then the decision record, which must be durable before an approval may leave.
 *
 * The authoriser knows nothing of links, frames or deadlines: the acceptor owns those. It awaits
 * only real I/O: a card load on a cache miss, the ledger step (Redis in the stack), the record.
 */
import { randomUUID } from 'node:crypto';
import type { SchemeRequest } from '../acceptor/scheme-request';
import { idempotencyKeyOf, originalKeyOf } from '../acceptor/idempotency-key';
import type { CardDirectory } from './card-directory';
import type { DecisionLog, DecisionRecord } from './decision-log';
import type { Ledger, LedgerOperation, LedgerOutcome, SpendLimitCheck } from './ledger';
import type { ShardDirectory } from './shard-directory';
import { firstDecliningRule, isCashWithdrawal } from './rules';
import { approvalCodeFor } from './approval-code';
import { UtcCalendar } from './calendar';
import { maskPan, type PanHasher } from './pan-protection';
import { ResponseCode, isApproval, type Card } from './types';
import { ShardFencedError } from './shard-fenced-error';
import { retryFollowUp } from './follow-up-retry';
import type { StageMetrics } from '../metrics/stage-metrics';
import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';

const DAY_MS = 86_400_000;

export interface AuthoriserSettings {
  holdExpiryDays: number;
  /** Most recent decisions kept in memory so a repeat is answered without a store read. */
  recentDecisions: number;
}

export interface AuthoriserDependencies {
  cards: CardDirectory;
  ledger: Ledger;
  shards: ShardDirectory;
  decisions: DecisionLog;
  panHasher: PanHasher;
  settings: AuthoriserSettings;
  /** Wall clock in ms; injected so tests can move time (expiry, day limits). */
  nowMs?: () => number;
  /** Stage timings (rules, hold, persist); absent in tests that do not look at them. */
  stages?: StageMetrics;
}

/**
 * The ledger step itself failed (a timeout, a lost connection). It may still have run: a command
 * that timed out in the client can have been executed by the store. `releaseAfterFailedStep`
 * takes back what it may have held, when the request was answered as a decline.
 */
export class LedgerStepFailedError extends Error {
  constructor(readonly request: SchemeRequest, readonly card: Card, readonly idempotencyKey: string,
    readonly shard: number, cause: unknown) {
    super(`ledger step failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'LedgerStepFailedError';
  }
}

/** A stand-in answer the ledger and the record must be brought in line with (reconcileStandIn). */
export interface StandInAnswer {
  /** DE 39 answered. */
  responseCode: string;
  /** DE 38 of a stand-in approval, '' otherwise. */
  approvalCode: string;
  receivedAtMs: number;
  /** The stand-in record's id and time, fixed at the first attempt. */
  recordId: string;
  recordedAtMs: number;
}

export interface Decision {
  responseCode: string;
  /** DE 38 on approval, '' otherwise. */
  approvalCode: string;
  approvedMinor: number;
  /** What the ledger did, or why nothing reached it. */
  status: LedgerOutcome['status'] | 'rule-declined' | 'unknown-card' | 'no-shard-owner' | 'not-durable';
  /** The declining rule's name, when a rule declined. */
  rule: string;
  replayed: boolean;
  overdrawn: boolean;
  /** The record written (or, for a replay, the original's key only). */
  idempotencyKey: string;
  record: DecisionRecord | undefined;
}

export class Authoriser {
  private readonly calendar = new UtcCalendar();
  /**
   * Recent decisions by idempotency key, at most recentDecisions, the least recently used evicted
   * first (a repeat looked up keeps its decision longer). lru-cache, not a Map evicting through
   * keys().next(): that walks every deleted slot before the table's next rehash, which cost 7-37 µs
   * per decision once 100,000 were kept (bench/results/notes.md, fifth session). 0 keeps none.
   */
  private readonly recent: LRUCache<string, Decision> | undefined;
  /** Correcting records being written in the background (see notDurable). */
  private readonly corrections = new Set<Promise<void>>();
  private readonly nowMs: () => number;

  /** Keys with a decision in progress, and how many attempts at each (a duplicate in flight). */
  private readonly deciding = new KeyCounts();
  /** Keys of stand-in approvals waiting between tries of their decision (keepForRetry). */
  private readonly retrying = new KeyCounts();

  constructor(private readonly deps: AuthoriserDependencies) {
    this.nowMs = deps.nowMs ?? Date.now;
    const keep = deps.settings.recentDecisions;
    this.recent = keep > 0 ? new LRUCache<string, Decision>({ max: keep }) : undefined;
  }

  /** Hashes the PAN and finds the card; exposed so the stand-in policy can judge good standing. */
  cachedCard(pan: string): Card | undefined {
    return this.deps.cards.cached(this.deps.panHasher.hash(pan));
  }

  async decide(request: SchemeRequest, receivedAtMs: number): Promise<Decision> {
    const panHash = this.deps.panHasher.hash(request.pan);
    const idempotencyKey = idempotencyKeyOf(request, panHash);
    const remembered = this.recent?.get(idempotencyKey);
    if (remembered !== undefined) return { ...remembered, replayed: true };
    // Counted while in progress (to the end of finish(), hence `return await` below), so a
    // failure's clean-up can tell whether a copy is deciding too.
    this.deciding.add(idempotencyKey);
    try {
      if (request.repeat) {
        const stored = await this.storedAnswer(idempotencyKey);
        if (stored !== undefined) return stored;
      }

      const card = this.deps.cards.cached(panHash) ?? await this.deps.cards.load(panHash);
      const nowMs = this.nowMs();
      if (card === undefined) {
        const isAdvice = request.kind === 'advice' || request.kind === 'reversal-advice'
          || request.kind === 'financial-advice';
        // An advice cannot be declined: acknowledge it; the unmatched record is kept for reconciliation.
        return await this.finish(request, undefined, panHash, idempotencyKey, receivedAtMs, nowMs, {
          responseCode: isAdvice ? ResponseCode.approved : ResponseCode.invalidCardNumber,
          status: 'unknown-card', rule: '', approvedMinor: 0, overdrawn: false, holdId: '', originalKey: '',
          shard: -1, fencingToken: 0,
        });
      }
      const shard = this.deps.shards.shardOf(card.accountId);
      const fencingToken = this.deps.shards.currentToken(shard);
      if (fencingToken === undefined) {
        return await this.finish(request, card, panHash, idempotencyKey, receivedAtMs, nowMs, {
          responseCode: ResponseCode.issuerUnavailable, status: 'no-shard-owner', rule: '', approvedMinor: 0,
          overdrawn: false, holdId: '', originalKey: '', shard, fencingToken: 0,
        });
      }

      const stages = this.deps.stages;
      if (request.kind === 'authorisation' || request.kind === 'financial') {
        const rulesStartMs = performance.now();
        const rule = firstDecliningRule({ card, request, currentYymm: this.calendar.yymm(nowMs) });
        stages?.rules.observe((performance.now() - rulesStartMs) / 1000);
        if (rule !== undefined) {
          return await this.finish(request, card, panHash, idempotencyKey, receivedAtMs, nowMs, {
            responseCode: rule.responseCode, status: 'rule-declined', rule: rule.name, approvedMinor: 0,
            overdrawn: false, holdId: '', originalKey: '', shard, fencingToken,
          });
        }
      }

      const holdId = randomUUID();
      const operation = this.ledgerOperation(request, card, idempotencyKey, holdId, shard, fencingToken, nowMs);
      const approvalCode = operation.kind === 'reverse' ? '' : operation.references.approvalCode ?? '';
      const holdStartMs = performance.now();
      let outcome: LedgerOutcome;
      try {
        outcome = await this.deps.ledger.apply(operation);
      } catch (error: unknown) {
        throw new LedgerStepFailedError(request, card, idempotencyKey, shard, error);
      }
      stages?.hold.observe((performance.now() - holdStartMs) / 1000);
      if (outcome.replayed && outcome.status !== 'fenced') {
        const stored = await this.storedAnswer(idempotencyKey);
        if (stored !== undefined) return stored;
      }
      return await this.finish(request, card, panHash, idempotencyKey, receivedAtMs, nowMs, {
        responseCode: outcome.responseCode, status: outcome.status, rule: '', approvedMinor: outcome.approvedMinor,
        overdrawn: outcome.overdrawn, holdId: outcome.holdId ?? '',
        originalKey: operation.kind === 'reverse' ? (operation.originalKey ?? '')
          : operation.kind === 'authorise' ? (operation.incrementOf ?? '') : '',
        shard, fencingToken, approvalCode,
      });
    } finally {
      this.deciding.remove(idempotencyKey);
    }
  }

  /**
   * While a stand-in approval's failed decision waits to be tried again, its key stays owned: a
   * copy of the request whose own ledger step fails must not release the hold the retry will find.
   * Returns the function that gives the key up.
   */
  keepForRetry(request: SchemeRequest): () => void {
    const idempotencyKey = idempotencyKeyOf(request, this.deps.panHasher.hash(request.pan));
    this.retrying.add(idempotencyKey);
    return () => this.retrying.remove(idempotencyKey);
  }

  /**
   * What an earlier identical request was answered, from the durable record: the stand-in's answer
   * when one went out before the decision (its record is kept under `stand-in:<key>`), else the
   * decision's. Only duplicates and repeats read it.
   */
  private async storedAnswer(idempotencyKey: string): Promise<Decision | undefined> {
    const [stored, standIn] = await Promise.all([this.deps.decisions.findByIdempotencyKey(idempotencyKey),
      this.deps.decisions.findByIdempotencyKey(`stand-in:${idempotencyKey}`)]);
    if (stored === undefined) return undefined;
    return standIn === undefined ? decisionFromRecord(stored) : { ...decisionFromRecord(standIn), idempotencyKey };
  }

  private ledgerOperation(request: SchemeRequest, card: Card, idempotencyKey: string, holdId: string,
    shard: number, fencingToken: number, nowMs: number): LedgerOperation {
    const base = { idempotencyKey, accountId: card.accountId, cardId: card.cardId, shard, fencingToken, nowMs };
    const references = { rrn: request.rrn, approvalCode: approvalCodeFor(idempotencyKey) };
    if (request.kind === 'reversal' || request.kind === 'reversal-advice') {
      const originalKey = originalKeyOf(request);
      const operation: LedgerOperation = {
        kind: 'reverse', ...base, advice: request.kind === 'reversal-advice',
        references: request.approvalCode !== ''
          ? { rrn: request.rrn, approvalCode: request.approvalCode } : { rrn: request.rrn },
      };
      if (originalKey !== undefined) operation.originalKey = originalKey;
      if (request.replacementAmountMinor !== undefined && request.replacementAmountMinor > 0) {
        operation.remainingMinor = request.replacementAmountMinor;
      }
      return operation;
    }
    const settlement = request.kind === 'financial' || request.kind === 'financial-advice' ? 'post' : 'hold';
    const limits = this.limitsFor(card, request, nowMs);
    const expiresAtMs = nowMs + this.deps.settings.holdExpiryDays * DAY_MS;
    if (request.kind === 'advice' || request.kind === 'financial-advice') {
      return { kind: 'advice', ...base, settlement, amountMinor: request.billingAmountMinor, limits, holdId,
        expiresAtMs, references };
    }
    const operation: LedgerOperation = {
      kind: 'authorise', ...base, settlement, amountMinor: request.billingAmountMinor,
      allowPartial: request.partialApprovalSupported, limits, holdId, expiresAtMs, references,
    };
    // An 0100 naming an earlier authorisation in DE 90 is an incremental: it grows that hold.
    const incrementOf = request.kind === 'authorisation' ? originalKeyOf(request) : undefined;
    if (incrementOf !== undefined) operation.incrementOf = incrementOf;
    return operation;
  }

  private limitsFor(card: Card, request: SchemeRequest, nowMs: number): SpendLimitCheck {
    const limits: SpendLimitCheck = {
      dayKey: this.calendar.dayKey(nowMs), monthKey: this.calendar.monthKey(nowMs),
      dailySpendMinor: card.limits.dailySpendMinor, monthlySpendMinor: card.limits.monthlySpendMinor,
    };
    if (isCashWithdrawal(request)) {
      limits.atm = { dailyAmountMinor: card.limits.atmDailyAmountMinor, dailyCount: card.limits.atmDailyCount };
    }
    return limits;
  }

  private async finish(request: SchemeRequest, card: Card | undefined, panHash: string, idempotencyKey: string,
    receivedAtMs: number, decidedAtMs: number, result: {
      responseCode: string; status: Decision['status']; rule: string; approvedMinor: number; overdrawn: boolean;
      holdId: string; originalKey: string; shard: number; fencingToken: number; approvalCode?: string;
    }): Promise<Decision> {
    const approved = isApproval(result.responseCode) && (request.kind === 'authorisation' || request.kind === 'financial');
    const record: DecisionRecord = {
      decisionId: result.holdId !== '' ? result.holdId : randomUUID(),
      idempotencyKey, kind: request.kind, mti: request.mti,
      accountId: card?.accountId ?? '', cardId: card?.cardId ?? '', panHash, panMasked: maskPan(request.pan),
      responseCode: result.responseCode, approvalCode: approved ? (result.approvalCode ?? approvalCodeFor(idempotencyKey)) : '',
      requestedMinor: request.billingAmountMinor, approvedMinor: result.approvedMinor,
      currency: request.billingCurrency, holdId: result.holdId, originalKey: result.originalKey,
      stan: request.stan, rrn: request.rrn, transmissionDateTime: request.transmissionDateTime,
      acquirerId: request.acquirerId, standIn: false, overdrawn: result.overdrawn,
      receivedAtMs, decidedAtMs, shard: result.shard, fencingToken: result.fencingToken,
    };
    const decision: Decision = {
      responseCode: result.responseCode, approvalCode: record.approvalCode, approvedMinor: result.approvedMinor,
      status: result.status, rule: result.rule, replayed: false, overdrawn: result.overdrawn,
      idempotencyKey, record,
    };
    try {
      const persistStartMs = performance.now();
      await this.deps.decisions.append(record);
      this.deps.stages?.persist.observe((performance.now() - persistStartMs) / 1000);
    } catch {
      return this.notDurable(decision);
    }
    this.remember(decision);
    return decision;
  }

  /**
   * The record could not be made durable: nothing may be approved without one, so a hold that was
   * placed is released and the answer is 91 (issuer unavailable: the scheme may stand in). Not
   * while another attempt at the same key is in flight (a duplicate of a request still being
   * decided): its ledger step replayed, and the attempt that placed the hold answers and records
   * for it. An earlier attempt of this same request that failed (a stand-in approval decided
   * again) is not in flight, so its hold is released here as any other.
   */
  private async notDurable(decision: Decision): Promise<Decision> {
    const record = decision.record;
    const ownedElsewhere = this.deciding.count(decision.idempotencyKey) > 1;
    if (!ownedElsewhere && record !== undefined && record.holdId !== '' && isApproval(decision.responseCode)
      && (record.kind === 'authorisation' || record.kind === 'financial')) {
      const released = await this.deps.ledger.apply({
        kind: 'reverse', idempotencyKey: `not-durable:${record.idempotencyKey}`, accountId: record.accountId,
        cardId: record.cardId, shard: record.shard, fencingToken: record.fencingToken, nowMs: this.nowMs(),
        originalKey: record.idempotencyKey, references: {}, advice: true,
      });
      // The timed-out write may still land later; a compensating release record keeps the durable
      // record from holding money the ledger already released, and the 91 under the request's own
      // key (written after the approval, so it wins the key) is what a repeat or an audit finds.
      // The hot bound is what just failed, so both go the store's patient way, in the background:
      // the 91 does not wait for them. If the store gives up too, reconciliation reports the
      // difference (hold-missing-in-ledger).
      const decidedAtMs = this.nowMs();
      this.writeCorrection(Promise.all([
        this.deps.decisions.appendPatiently({
          ...record, decisionId: randomUUID(), idempotencyKey: `not-durable:${record.idempotencyKey}`,
          kind: 'reversal-advice', mti: '0420', responseCode: ResponseCode.approved, approvalCode: '',
          approvedMinor: released.approvedMinor, originalKey: record.idempotencyKey, decidedAtMs,
        }),
        this.deps.decisions.appendPatiently({
          ...record, decisionId: randomUUID(), responseCode: ResponseCode.issuerUnavailable, approvalCode: '',
          approvedMinor: 0, decidedAtMs,
        }),
      ]));
    }
    return { ...decision, responseCode: ResponseCode.issuerUnavailable, approvalCode: '', approvedMinor: 0,
      status: 'not-durable' };
  }

  /**
   * A decision whose ledger step failed was answered as a decline (96, or a 91 stand-in). If the
   * step ran after all, it holds (or posted) money for a payment the scheme was told is declined:
   * a keyed release takes it back, in the background, tried as follow-up-retry.ts does (a graceful
   * stop waits for corrections, so it waits for this). If the step never ran, the release finds
   * nothing and leaves a tombstone under the request's key, so a late or repeated copy of that
   * step cannot hold either: a retransmission of the request is then answered 12. Not for a
   * request answered by a stand-in approval: that one is decided again and must hold.
   */
  releaseAfterFailedStep(failure: LedgerStepFailedError, answeredCode: string, receivedAtMs: number,
    onGivenUp: (error: unknown) => void): void {
    const { request, card, idempotencyKey, shard } = failure;
    if (request.kind !== 'authorisation' && request.kind !== 'financial') return;
    let decline: Decision | undefined;
    const releaseOnce = async (): Promise<void> => {
      // Another attempt owns the step: a copy decided and remembered (it answered and records for
      // the step), or one still being decided or waiting to be (looked at again after a wait). This
      // attempt never recorded anything. Checked again before every try.
      const remembered = this.recent?.get(idempotencyKey);
      if (remembered !== undefined && remembered !== decline) return;
      if (this.deciding.has(idempotencyKey) || this.retrying.has(idempotencyKey)) throw new KeyInFlightElsewhere();
      if (decline === undefined) {
        if (await this.deps.decisions.findByIdempotencyKey(idempotencyKey) !== undefined) return;
        // Remembered before the release: a copy arriving meanwhile is given the decline, not a
        // replay of the step being released.
        decline = { ...decisionFromRecord(this.failedStepRecord(failure, answeredCode, receivedAtMs, 0)), replayed: false };
        this.remember(decline);
      }
      const fencingToken = this.deps.shards.currentToken(shard);
      if (fencingToken === undefined) throw new Error(`shard ${shard} has no owner here`);
      const outcome = await this.deps.ledger.apply({
        kind: 'reverse', idempotencyKey: `undecided:${idempotencyKey}`, accountId: card.accountId,
        cardId: card.cardId, shard, fencingToken, nowMs: this.nowMs(), originalKey: idempotencyKey,
        references: {}, advice: true,
      });
      if (outcome.status === 'fenced') throw new ShardFencedError(shard, fencingToken);
      // The ledger still replays the step's own outcome for its key: the decline answered, recorded
      // under that key, is what a repeat or a retransmission is given instead.
      await this.deps.decisions.appendPatiently(this.failedStepRecord(failure, answeredCode, receivedAtMs, fencingToken));
    };
    // Still in flight elsewhere after every wait: that attempt answers for the step.
    const release = retryFollowUp(releaseOnce).catch((error: unknown) => {
      if (!(error instanceof KeyInFlightElsewhere)) onGivenUp(error);
    });
    this.writeCorrection(release);
  }

  private failedStepRecord(failure: LedgerStepFailedError, responseCode: string, receivedAtMs: number,
    fencingToken: number): DecisionRecord {
    const { request, card, idempotencyKey, shard } = failure;
    return {
      decisionId: randomUUID(), idempotencyKey, kind: request.kind, mti: request.mti, accountId: card.accountId,
      cardId: card.cardId, panHash: card.panHash, panMasked: maskPan(request.pan), responseCode, approvalCode: '',
      requestedMinor: request.billingAmountMinor, approvedMinor: 0, currency: request.billingCurrency, holdId: '',
      originalKey: '', stan: request.stan, rrn: request.rrn, transmissionDateTime: request.transmissionDateTime,
      acquirerId: request.acquirerId, standIn: false, overdrawn: false, receivedAtMs, decidedAtMs: this.nowMs(),
      shard, fencingToken,
    };
  }

  private writeCorrection(writes: Promise<unknown>): void {
    const settled = writes.then(() => undefined, () => undefined);
    this.corrections.add(settled);
    void settled.then(() => this.corrections.delete(settled));
  }

  /**
   * Resolves when every correcting record started so far is written (or given up), or after
   * timeoutMs: a graceful stop waits for them before it closes the store. True when all settled.
   */
  async correctionsWritten(timeoutMs: number): Promise<boolean> {
    if (this.corrections.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    const all = Promise.all([...this.corrections]).then(() => true);
    try {
      return await Promise.race([all, bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * What the stand-in answered, for reconcileStandIn: made once per late decision, so a retried
   * reconciliation writes the same record (same id, same time) and a ledger step that went through
   * is replayed under the same key.
   */
  standInAnswer(responseCode: string, approvalCode: string, receivedAtMs: number): StandInAnswer {
    return { responseCode, approvalCode, receivedAtMs, recordId: randomUUID(), recordedAtMs: this.nowMs() };
  }

  /**
   * The acceptor answered by its stand-in policy before this decision completed. The scheme acts on
   * what was answered, so the ledger follows it: a late approval that was answered as a decline has
   * its hold released; a stand-in approval that the rules would have declined is held as an advice
   * would be. Either way a stand-in record says what was answered, with the approval code (DE 38)
   * the stand-in sent, so no hold is without a record and a later message quoting that code matches.
   * Off the hot path, so the record is written with the store's patient bound: the hot bound is
   * for answering in time, and the answer has gone. Safe to call again with the same answer after
   * a failure (the acceptor retries): each ledger step is keyed, the record is the same.
   */
  async reconcileStandIn(request: SchemeRequest, decision: Decision, answer: StandInAnswer): Promise<void> {
    const record = decision.record;
    if (record === undefined || decision.replayed) return;
    const standInCode = answer.responseCode;
    const spends = request.kind === 'authorisation' || request.kind === 'financial';
    const decidedApproval = spends && isApproval(decision.responseCode);
    const answeredApproval = spends && isApproval(standInCode);
    const nowMs = this.nowMs();
    const standInKey = `stand-in:${record.idempotencyKey}`;
    // First: a copy of the request arriving from now on is given what the scheme was told, not the
    // late decision that finish() remembered.
    this.remember({ ...decisionFromRecord({ ...record, responseCode: standInCode, approvalCode: answer.approvalCode,
      approvedMinor: answeredApproval ? request.billingAmountMinor : 0, standIn: true }), replayed: false });
    let approvedMinor = 0;
    let holdId = '';
    if ((decidedApproval && !answeredApproval) || (answeredApproval && !decidedApproval && record.accountId !== '')) {
      // The shard's token now, not at the decision: a reconciliation may run after a takeover. A
      // refusal throws, so the acceptor retries it and counts what still fails.
      const shard = this.deps.shards.shardOf(record.accountId);
      const fencingToken = this.deps.shards.currentToken(shard);
      if (fencingToken === undefined) throw new Error(`shard ${shard} has no owner here: stand-in not reconciled`);
      let outcome: LedgerOutcome;
      if (decidedApproval) {
        outcome = await this.deps.ledger.apply({
          kind: 'reverse', idempotencyKey: standInKey, accountId: record.accountId, cardId: record.cardId,
          shard, fencingToken, nowMs, originalKey: record.idempotencyKey, references: {}, advice: true,
        });
      } else {
        const card = await this.deps.cards.getById(record.cardId);
        if (card === undefined) throw new Error(`card ${record.cardId} not found: stand-in approval not held`);
        outcome = await this.deps.ledger.apply({
          kind: 'advice', idempotencyKey: standInKey, accountId: record.accountId, cardId: record.cardId,
          shard, fencingToken, nowMs,
          settlement: request.kind === 'financial' ? 'post' : 'hold', amountMinor: request.billingAmountMinor,
          limits: this.limitsFor(card, request, nowMs), holdId: randomUUID(),
          expiresAtMs: nowMs + this.deps.settings.holdExpiryDays * DAY_MS,
          references: answer.approvalCode === '' ? { rrn: request.rrn } : { rrn: request.rrn, approvalCode: answer.approvalCode },
        });
        approvedMinor = outcome.approvedMinor;
        // A retry replays the first attempt's outcome, with the hold that attempt placed.
        holdId = outcome.holdId ?? '';
      }
      if (outcome.status === 'fenced') throw new ShardFencedError(shard, fencingToken);
    } else if (decidedApproval && answeredApproval) {
      approvedMinor = decision.approvedMinor;
      holdId = record.holdId;
    }
    const standInRecord: DecisionRecord = {
      ...record, decisionId: answer.recordId, idempotencyKey: standInKey, responseCode: standInCode,
      approvalCode: answer.approvalCode, approvedMinor, holdId, originalKey: record.idempotencyKey, standIn: true,
      receivedAtMs: answer.receivedAtMs, decidedAtMs: answer.recordedAtMs,
    };
    await this.deps.decisions.appendPatiently(standInRecord);
  }

  private remember(decision: Decision): void {
    this.recent?.set(decision.idempotencyKey, decision);
  }
}

function decisionFromRecord(record: DecisionRecord): Decision {
  return {
    responseCode: record.responseCode, approvalCode: record.approvalCode, approvedMinor: record.approvedMinor,
    status: isApproval(record.responseCode) ? 'approved' : 'declined', rule: '', replayed: true, overdrawn: record.overdrawn,
    idempotencyKey: record.idempotencyKey, record,
  };
}

/** A failed step's release waits: another attempt at the same key is in flight and answers for it. */
class KeyInFlightElsewhere extends Error {}

/** How many of something are under way per idempotency key (attempts deciding, retries waiting). */
class KeyCounts {
  private readonly counts = new Map<string, number>();

  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  remove(key: string): void {
    const left = (this.counts.get(key) ?? 1) - 1;
    if (left === 0) this.counts.delete(key);
    else this.counts.set(key, left);
  }

  has(key: string): boolean {
    return this.counts.has(key);
  }

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}
