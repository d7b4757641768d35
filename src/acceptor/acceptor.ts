/**
 * Decoded scheme requests in, responses out: routing by MTI, the latency budget, the stand-in
 * answer at the deadline, and what happens to a decision that arrives after it.
 *
 * Routing: 0100/0101 authorisation, 0120/0121 advice, 0200/0201 financial, 0220/0221 financial
 * advice, 0400/0401 reversal, 0420/0421 reversal advice go to the authoriser; network management
 * never reaches here (the link answers it); anything else is answered 12, and a request whose
 * decision fields are malformed is answered 30.
 *
 * Budget: each request's deadline is its arrival (when the read that completed its frame came off
 * the socket) plus the budget. At the deadline less the margin, an undecided request is answered by
 * the stand-in policy (decline 91, or approve within the stand-in limit for a card in good standing).
 * The late decision never sends a second response; the authoriser reconciles it with what was
 * answered.
 *
 * Overload: when as many decisions are in flight as the adaptive limit allows (concurrency-limit.ts),
 * a request the stand-in policy would decline is answered so at once, before any work is done for
 * it (shed), instead of joining a queue whose every member would miss the deadline. Advices (they
 * report what already happened at the scheme) and requests the stand-in would approve are decided
 * anyway: answering them by stand-in would need their decision afterwards all the same. A request
 * already past its deadline when its turn comes is answered by the stand-in policy at once; if that
 * answer approved (an advice acknowledged, a stand-in approval), it is still decided afterwards and
 * reconciled, so the ledger and the record match what the scheme was told.
 */
import { performance } from 'node:perf_hooks';
import type { IsoMessage } from '../iso8583';
import type { LinkExchange, SchemeRequestHandler } from '../network-link/link-exchange';
import type { Logger } from '../log/logger';
import { LedgerStepFailedError, type Authoriser, type Decision } from '../authorise/authoriser';
import { ResponseCode, isApproval } from '../authorise/types';
import { approvalCodeFor } from '../authorise/approval-code';
import { isSpendingType } from '../authorise/rules';
import { FOLLOW_UP_RETRY_DELAYS_MS, retryFollowUp } from '../authorise/follow-up-retry';
import {
  AuthorisationMetrics, mtiClassIndex, OUTCOME_APPROVED, OUTCOME_DECLINED, OUTCOME_ERROR, OUTCOME_STAND_IN,
} from '../metrics/authorisation-metrics';
import { decisionKindOf, readSchemeRequest, SchemeRequestFormatError, type SchemeRequest } from './scheme-request';
import { buildRefusal, buildResponse } from './response-builder';
import { DeadlineQueue, type Deadlined } from './deadline-queue';
import type { StageMetrics } from '../metrics/stage-metrics';
import { AdaptiveConcurrencyLimit } from './concurrency-limit';
import { EventLoopLag } from './event-loop-lag';

export type StandInPolicy = 'decline' | 'approve-within-limits';

export interface AcceptorSettings {
  budgetMs: number;
  /** The stand-in answer goes this long before the deadline, to leave time to encode and write. */
  deadlineMarginMs: number;
  standIn: { policy: StandInPolicy; maxAmountMinor: number };
  /**
   * Overload shedding: the adaptive limit's bounds on decisions in flight, its target being half the
   * time to the stand-in answer. Absent: never shed (every request is decided).
   */
  shedding?: { minInflight: number; maxInflight: number };
}

/** The overload limit judges decisions per window of this length (concurrency-limit.ts). */
const LIMIT_WINDOW_MS = 100;

/** One request waiting for its decision; the only per-request object the acceptor makes. */
class PendingAuthorisation implements Deadlined {
  answered = false;
  standInCode = '';
  /** DE 38 of a stand-in approval, '' otherwise. */
  standInApprovalCode = '';
  constructor(
    readonly exchange: LinkExchange,
    readonly request: SchemeRequest,
    readonly standInAtMs: number,
    readonly mtiClass: number,
    readonly receivedAtMs: number,
  ) {}
}

export class Acceptor implements SchemeRequestHandler {
  private readonly deadlines: DeadlineQueue<PendingAuthorisation>;
  private readonly standInAfterMs: number;
  private inflightCount = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly limit: AdaptiveConcurrencyLimit | undefined;
  private readonly loopLag: EventLoopLag | undefined;

  constructor(
    private readonly authoriser: Authoriser,
    private readonly settings: AcceptorSettings,
    private readonly metrics: AuthorisationMetrics,
    private readonly logger: Logger,
    private readonly stages?: StageMetrics,
  ) {
    this.standInAfterMs = settings.budgetMs - settings.deadlineMarginMs;
    this.deadlines = new DeadlineQueue(this.answerByStandIn, performance.now.bind(performance));
    const shedding = settings.shedding;
    this.limit = shedding === undefined ? undefined : new AdaptiveConcurrencyLimit({
      targetMs: this.standInAfterMs / 2, windowMs: LIMIT_WINDOW_MS, minLimit: shedding.minInflight,
      maxLimit: shedding.maxInflight,
    });
    this.loopLag = shedding === undefined ? undefined : new EventLoopLag();
    const limit = this.limit;
    if (limit !== undefined) metrics.exportConcurrencyLimit(() => limit.current);
  }

  get inflight(): number {
    return this.inflightCount;
  }

  handleRequest(message: IsoMessage, exchange: LinkExchange): void {
    const kind = decisionKindOf(message.mti);
    if (kind === undefined) {
      this.refuse(message, exchange, ResponseCode.invalidTransaction, mtiClassIndex(undefined));
      return;
    }
    const mtiClass = mtiClassIndex(kind);
    const request = readSchemeRequest(message, kind);
    if (request instanceof SchemeRequestFormatError) {
      this.metrics.formatErrors.inc();
      this.logger.warn({ mti: message.mti, stan: message.getString(11), dataElement: request.dataElement,
        reason: request.reason }, 'request refused with format error');
      this.refuse(message, exchange, ResponseCode.formatError, mtiClass);
      return;
    }
    const nowMs = performance.now();
    this.stages?.decode.observe((nowMs - exchange.arrivalMs) / 1000);
    const receivedAtMs = Date.now() - (nowMs - exchange.arrivalMs);
    const pending = new PendingAuthorisation(exchange, request, exchange.arrivalMs + this.standInAfterMs,
      mtiClass, receivedAtMs);
    if (nowMs >= pending.standInAtMs) {
      // Already past its deadline when its turn came (queued behind backpressure).
      this.answerByStandIn(pending);
      if (!this.appliesAfterStandIn(pending)) return;
    } else if (this.limit !== undefined && this.inflightCount >= this.limit.current) {
      const standInCode = this.standInCodeFor(request);
      // An advice is never shed, nor a request the stand-in policy would approve: answering it by
      // stand-in still needs its decision afterwards, so shedding it would save nothing.
      if (standInCode !== ResponseCode.approved) {
        this.shed(pending, standInCode);
        return;
      }
    }
    this.inflightCount++;
    this.metrics.inflight.inc();
    if (!pending.answered) this.deadlines.push(pending);
    void this.decide(pending);
  }

  /**
   * A stand-in answer that approved (an advice acknowledged, a stand-in approval) must still reach
   * the ledger and the record; a stand-in decline changed nothing and needs no decision.
   */
  private appliesAfterStandIn(pending: PendingAuthorisation): boolean {
    return pending.standInCode === ResponseCode.approved;
  }

  private async decide(pending: PendingAuthorisation): Promise<void> {
    const request = pending.request;
    let decision: Decision | undefined;
    let failedStep: LedgerStepFailedError | undefined;
    try {
      decision = await this.authoriser.decide(request, pending.receivedAtMs);
    } catch (error) {
      failedStep = error instanceof LedgerStepFailedError ? error : undefined;
      this.logFailedDecision(request, error);
    }
    if (decision === undefined && pending.answered && this.appliesAfterStandIn(pending)) {
      // A stand-in approval (or an acknowledged advice) whose decision failed is decided again:
      // the scheme was told 00, and deciding is idempotent by the request's key (a ledger step that
      // went through is replayed, not repeated). Still in flight meanwhile, so a drain waits for it.
      decision = await this.decideAgainAfterStandIn(pending);
    } else if (decision === undefined && failedStep !== undefined) {
      // Answered (or about to be) as a decline while its ledger step's fate is unknown: take back
      // whatever that step may have held.
      this.releaseAfterFailedStep(failedStep, pending.answered ? pending.standInCode : ResponseCode.systemMalfunction,
        pending.receivedAtMs);
    }
    this.observeLatency(pending);
    if (pending.answered) {
      this.metrics.lateResults.inc();
      // Still in flight until reconciled: a drain must not close the store under it.
      if (decision !== undefined) await this.reconcileLate(pending, decision);
    } else if (decision === undefined) {
      pending.answered = true;
      this.respond(pending, buildRefusal(pending.exchange.request, ResponseCode.systemMalfunction), OUTCOME_ERROR,
        ResponseCode.systemMalfunction);
    } else {
      pending.answered = true;
      this.answerDecision(pending, decision);
    }
    this.inflightCount--;
    this.metrics.inflight.dec();
    this.deadlines.settle();
    if (this.inflightCount === 0) this.notifyIdle();
  }

  private logFailedDecision(request: SchemeRequest, error: unknown): void {
    this.logger.error({ err: error, mti: request.mti, stan: request.stan }, 'authorisation failed');
  }

  /** Decided again until it holds what the stand-in approved; undefined, and counted, if never. */
  private async decideAgainAfterStandIn(pending: PendingAuthorisation): Promise<Decision | undefined> {
    const request = pending.request;
    const releaseKey = this.authoriser.keepForRetry(request);
    try {
      return await retryFollowUp(() => this.authoriser.decide(request, pending.receivedAtMs),
        (error) => this.logFailedDecision(request, error), 1);
    } catch (error) {
      this.logFailedDecision(request, error);
      this.countStandInNotApplied(pending);
      return undefined;
    } finally {
      releaseKey();
    }
  }

  private releaseAfterFailedStep(failure: LedgerStepFailedError, answeredCode: string, receivedAtMs: number): void {
    const request = failure.request;
    this.authoriser.releaseAfterFailedStep(failure, answeredCode, receivedAtMs, (error) => {
      this.metrics.failedStepsNotReleased.inc();
      this.logger.error({ err: error, mti: request.mti, stan: request.stan, rrn: request.rrn },
        'failed ledger step not released: it may hold money for a declined payment');
    });
  }

  /** Every attempt at a stand-in approval's decision failed: a person must put the ledger right. */
  private countStandInNotApplied(pending: PendingAuthorisation): void {
    this.metrics.standInsNotApplied.inc();
    const request = pending.request;
    this.logger.error({ mti: request.mti, stan: request.stan, rrn: request.rrn,
      approvalCode: pending.standInApprovalCode, attempts: FOLLOW_UP_RETRY_DELAYS_MS.length + 1 },
    'stand-in approval not applied: its decision failed every attempt, so the ledger lacks what the scheme was told');
  }

  /**
   * A decision finished (or missed its deadline): its time for the overload limit, from the read
   * plus how late the loop runs (the time its bytes may have sat in the kernel).
   */
  private observeLatency(pending: PendingAuthorisation): void {
    if (this.limit === undefined) return;
    const nowMs = performance.now();
    this.limit.onDecision(nowMs - pending.exchange.arrivalMs + this.loopLag!.currentMs, nowMs);
  }

  private answerDecision(pending: PendingAuthorisation, decision: Decision): void {
    if (decision.replayed) this.metrics.duplicates.inc();
    const kind = pending.request.kind;
    if (kind === 'advice' || kind === 'financial-advice' || kind === 'reversal-advice') {
      this.metrics.advicesApplied.inc();
    }
    if (decision.overdrawn) {
      this.logger.warn({ mti: pending.request.mti, stan: pending.request.stan, rrn: pending.request.rrn },
        'advice took the account below its overdraft limit');
    }
    const response = buildResponse(pending.exchange.request, {
      responseCode: decision.responseCode,
      approvalCode: decision.approvalCode,
      partialAmountMinor: decision.responseCode === ResponseCode.partialApproval ? decision.approvedMinor : undefined,
    });
    this.respond(pending, response, isApproval(decision.responseCode) ? OUTCOME_APPROVED : OUTCOME_DECLINED,
      decision.responseCode);
    this.logger.debug({ mti: pending.request.mti, stan: pending.request.stan, rrn: pending.request.rrn,
      responseCode: decision.responseCode, status: decision.status, rule: decision.rule,
      replayed: decision.replayed }, 'decision');
  }

  private readonly answerByStandIn = (pending: PendingAuthorisation): void => {
    if (pending.answered) return;
    this.metrics.budgetMisses.inc();
    this.metrics.standIns.inc();
    // A deadline miss is a slow decision for the limit: a store that hangs must cut it too, though
    // the hung decisions report nothing until they time out.
    this.observeLatency(pending);
    const request = pending.request;
    const responseCode = this.answerStandIn(pending, this.standInCodeFor(request));
    this.logger.warn({ mti: request.mti, stan: request.stan, rrn: request.rrn, responseCode,
      budgetMs: this.settings.budgetMs }, 'deadline reached: answered by stand-in policy');
  };

  /** Overload: answered by the stand-in policy (a decline) before any work is done for it. */
  private shed(pending: PendingAuthorisation, responseCode: string): void {
    this.metrics.shed.inc();
    this.answerStandIn(pending, responseCode);
    const request = pending.request;
    this.logger.warn({ mti: request.mti, stan: request.stan, rrn: request.rrn, responseCode,
      inflight: this.inflightCount, limit: this.limit?.current },
    'overload: answered by stand-in policy without deciding');
  }

  /** What the stand-in policy answers: 00 to an advice or a stand-in approval, else 91. */
  private standInCodeFor(request: SchemeRequest): string {
    if (request.kind === 'advice' || request.kind === 'financial-advice' || request.kind === 'reversal-advice') {
      // Advices are acknowledged, never declined; they are applied when the decision completes.
      return ResponseCode.approved;
    }
    return this.standInApproves(request) ? ResponseCode.approved : ResponseCode.issuerUnavailable;
  }

  private answerStandIn(pending: PendingAuthorisation, responseCode: string): string {
    pending.answered = true;
    const request = pending.request;
    pending.standInCode = responseCode;
    const approvalCode = responseCode === ResponseCode.approved
      && (request.kind === 'authorisation' || request.kind === 'financial')
      ? approvalCodeFor(`stand-in:${request.stan}:${request.transmissionDateTime}:${request.rrn}`) : '';
    pending.standInApprovalCode = approvalCode;
    this.respond(pending, buildResponse(pending.exchange.request, { responseCode, approvalCode,
      partialAmountMinor: undefined }), OUTCOME_STAND_IN, responseCode);
    return responseCode;
  }

  private standInApproves(request: SchemeRequest): boolean {
    if (this.settings.standIn.policy !== 'approve-within-limits') return false;
    if (request.kind !== 'authorisation' && request.kind !== 'financial') return false;
    // Only a debit within the limit: a refund or credit approved by stand-in would be held (or
    // posted) as a debit when reconciled.
    if (!isSpendingType(request) || request.billingAmountMinor <= 0) return false;
    if (request.billingAmountMinor > this.settings.standIn.maxAmountMinor) return false;
    const card = this.authoriser.cachedCard(request.pan);
    return card !== undefined && card.status === 'active' && !card.controls.frozen;
  }

  /**
   * The stand-in answer went out first: bring the ledger and the record in line with it. Retried
   * like a stand-in approval's decision (a late approval answered 91 whose release failed would
   * otherwise hold the customer's money until the hold expires); what still fails is counted.
   */
  private async reconcileLate(pending: PendingAuthorisation, decision: Decision): Promise<void> {
    const answer = this.authoriser.standInAnswer(pending.standInCode, pending.standInApprovalCode, pending.receivedAtMs);
    const request = pending.request;
    try {
      await retryFollowUp(() => this.authoriser.reconcileStandIn(request, decision, answer), (error, failedTries) => {
        this.logger.warn({ err: error, stan: request.stan, rrn: request.rrn, attempt: failedTries },
          'late decision not yet reconciled with the stand-in answer: retrying');
      });
    } catch (error) {
      this.metrics.standInsNotReconciled.inc();
      this.logger.error({ err: error, mti: request.mti, stan: request.stan, rrn: request.rrn,
        responseCode: pending.standInCode, decidedCode: decision.responseCode,
        attempts: FOLLOW_UP_RETRY_DELAYS_MS.length + 1 },
      'late decision could not be reconciled with the stand-in answer');
    }
  }

  private refuse(message: IsoMessage, exchange: LinkExchange, responseCode: string, mtiClass: number): void {
    exchange.respond(buildRefusal(message, responseCode));
    this.metrics.countResponse(responseCode);
    this.metrics.observe(mtiClass, OUTCOME_ERROR, (performance.now() - exchange.arrivalMs) / 1000);
  }

  private respond(pending: PendingAuthorisation, response: IsoMessage, outcome: number, responseCode: string): void {
    const encodeStartMs = performance.now();
    pending.exchange.respond(response);
    const writtenMs = performance.now();
    this.stages?.encode.observe((writtenMs - encodeStartMs) / 1000);
    this.metrics.countResponse(responseCode);
    this.metrics.observe(pending.mtiClass, outcome, (writtenMs - pending.exchange.arrivalMs) / 1000);
  }

  /** Resolves when no decision is in flight (graceful drain), or after timeoutMs. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.inflightCount === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  close(): void {
    this.deadlines.close();
    this.loopLag?.close();
  }
}
