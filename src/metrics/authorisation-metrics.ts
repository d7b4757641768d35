/**
 * Metrics of the authorisation path. Label children are bound once here at start-up, for every
 * MTI class, outcome and response code the gateway can answer, so recording on the hot path is an
 * array index and an observe, never a label lookup. No PAN, card or account id is ever a label.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { FastHistogram, type FastHistogramChild } from './fast-histogram';
import { ResponseCode } from '../authorise/types';

export const MTI_CLASSES = ['authorisation', 'advice', 'reversal', 'reversal-advice', 'financial',
  'financial-advice', 'other'] as const;
export type MtiClassLabel = (typeof MTI_CLASSES)[number];

export const OUTCOMES = ['approved', 'declined', 'stand-in', 'error'] as const;
export type OutcomeLabel = (typeof OUTCOMES)[number];

/** Bucket edges as fractions of the budget, so the budget itself is always an edge. */
const BUDGET_FRACTIONS = [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1, 1.5, 2, 5];

export class AuthorisationMetrics {
  private readonly latency: FastHistogramChild[][];
  private readonly responses = new Map<string, Counter.Internal>();
  private readonly otherResponses: Counter.Internal;
  readonly budgetMisses: Counter;
  readonly lateResults: Counter;
  readonly duplicates: Counter;
  readonly advicesApplied: Counter;
  readonly standIns: Counter;
  readonly formatErrors: Counter;
  readonly shed: Counter;
  readonly standInsNotApplied: Counter;
  readonly standInsNotReconciled: Counter;
  readonly failedStepsNotReleased: Counter;
  readonly inflight: Gauge;
  private readonly registry: Registry;

  constructor(registry: Registry, budgetMs: number) {
    this.registry = registry;
    const histogram = new FastHistogram('gateway_authorisation_duration_seconds',
      'Time from the request frame received (the socket read that completed it) to its response written, by MTI class and outcome.',
      ['mti_class', 'outcome'], BUDGET_FRACTIONS.map((fraction) => (budgetMs * fraction) / 1000), registry);
    this.latency = MTI_CLASSES.map((mtiClass) =>
      OUTCOMES.map((outcome) => histogram.child(mtiClass, outcome)));
    const responses = new Counter({
      name: 'gateway_responses_total',
      help: 'Responses sent to the scheme, by DE 39 response code.',
      labelNames: ['response_code'],
      registers: [registry],
    });
    // Bound and exported at zero from the start, so a rate over them sees the first 91 or 96.
    for (const code of Object.values(ResponseCode)) {
      const child = responses.labels(code);
      child.inc(0);
      this.responses.set(code, child);
    }
    this.otherResponses = responses.labels('other');
    this.otherResponses.inc(0);
    const counter = (name: string, help: string): Counter => new Counter({ name, help, registers: [registry] });
    this.budgetMisses = counter('gateway_budget_misses_total',
      'Requests answered by the stand-in policy because their decision missed the deadline.');
    this.lateResults = counter('gateway_late_decisions_total',
      'Decisions that completed after the stand-in answer had been sent (reconciled, never re-sent).');
    this.duplicates = counter('gateway_duplicates_total',
      'Repeats and retransmissions answered with the original decision.');
    this.advicesApplied = counter('gateway_advices_applied_total',
      'Advices (0120, 0220, 0420) applied to the ledger.');
    this.standIns = counter('gateway_stand_in_total',
      'Responses decided by the stand-in policy at or past the deadline.');
    this.formatErrors = counter('gateway_format_errors_total',
      'Requests answered 30 because a field the decision needs was malformed.');
    this.shed = counter('gateway_shed_total',
      'Requests answered by the stand-in policy at once, without a decision, because the decisions in flight were at the adaptive limit (overload).');
    this.standInsNotApplied = counter('gateway_stand_in_not_applied_total',
      'Stand-in answers that approved (an advice acknowledged, a stand-in approval) whose decision failed every retry: the ledger lacks what the scheme was told.');
    this.standInsNotReconciled = counter('gateway_stand_in_not_reconciled_total',
      'Late decisions that could not be brought in line with the stand-in answer already sent (a hold to release or to place, and the stand-in record) after every retry.');
    this.failedStepsNotReleased = counter('gateway_failed_step_not_released_total',
      'Requests answered as declined after their ledger step failed (it may have run), whose release of what that step may have held failed every retry.');
    this.inflight = new Gauge({ name: 'gateway_authorisations_inflight', registers: [registry],
      help: 'Requests accepted and not yet answered.' });
  }

  /** Exports the adaptive in-flight limit, read at scrape time; only when shedding is on. */
  exportConcurrencyLimit(current: () => number): void {
    const gauge: Gauge = new Gauge({ name: 'gateway_concurrency_limit', registers: [this.registry],
      help: 'Decisions the overload limit allows in flight now; a request beyond it is answered by the stand-in policy without a decision.',
      collect: () => gauge.set(current()) });
  }

  observe(mtiClass: number, outcome: number, seconds: number): void {
    this.latency[mtiClass]![outcome]!.observe(seconds);
  }

  countResponse(responseCode: string): void {
    (this.responses.get(responseCode) ?? this.otherResponses).inc();
  }
}

export function mtiClassIndex(kind: string | undefined): number {
  const index = kind === undefined ? -1 : (MTI_CLASSES as readonly string[]).indexOf(kind);
  return index === -1 ? MTI_CLASSES.length - 1 : index;
}

export const OUTCOME_APPROVED = 0;
export const OUTCOME_DECLINED = 1;
export const OUTCOME_STAND_IN = 2;
export const OUTCOME_ERROR = 3;
