/**
 * Group commit for the decision log's hot writes: decisions that arrive while earlier batches are
 * being written go together in the next one, so Cassandra is sent one request for several
 * decisions instead of one each.
 *
 * Why: on this 2-core machine a Cassandra request costs its node about as much CPU in waking
 * threads and moving the request between them as in applying the rows (docs/persistence.md), and
 * the gateway's driver pays a fixed cost per request as well. Nothing is delayed to make a group:
 * with fewer than `batchesInFlight` batches outstanding, what arrived in one event-loop turn
 * leaves at the end of that turn; only while the node is busy do decisions queue, and then they
 * leave together as soon as a batch completes. That is the same rule as the embedded decision log's
 * group commit (file-decision-log.ts), applied to a network store.
 *
 * A batch that fails for a passing reason (a timeout, an unavailable replica) fails every decision
 * in it, and each goes through the store's write-failure policy, as a decision whose own batch
 * failed always did. A batch the node refuses for good (an invalid statement, the batch size
 * limit) is not allowed to take its neighbours down with it: each decision is sent again alone.
 * A decision whose bound passed while it queued is never sent: its caller was already told it
 * failed, and a record landing after that would contradict the answer. The bound is the caller's
 * own timer (`AppendBound.abandoned`), not a second clock read here that could disagree with it.
 */
import { performance } from 'node:perf_hooks';
import type { StatementRow } from './movement-rows';

/** Named as `store.cassandra.groupCommit` in the configuration, which overlays the first two. */
export interface BatchGroupLimits {
  /** Batches written at once; further decisions queue and go together in the next batch. */
  batchesInFlight: number;
  /** Most decisions in one batch: keeps a batch well under Cassandra's batch size limit. */
  decisionsPerBatch: number;
  /** Most statements in one batch, whatever the decisions' row counts. */
  rowsPerBatch: number;
}

/**
 * Defaults sized for the decision rows of docs/persistence.md. Cassandra counts about 2 KiB per
 * decision, so 12 make about 25 KiB: under the 32 KiB warning the test node sets, and half of the
 * 50 KiB at which it refuses a batch, leaving room for decisions with more rows than usual.
 */
export const defaultBatchGroupLimits: Readonly<BatchGroupLimits> = Object.freeze({
  batchesInFlight: 2,
  decisionsPerBatch: 12,
  rowsPerBatch: 128,
});

/** The decision queued past its bound and was never sent. */
export class QueuedPastBoundError extends Error {
  constructor() {
    super('decision append waited past its bound; not written');
    this.name = 'QueuedPastBoundError';
  }
}

/**
 * One append's bound, shared by its deadline timer and the queue: the timer sets `abandoned` before
 * it tells the caller the append failed, so from then on nothing of the append is sent.
 */
export interface AppendBound {
  /** performance.now() past which the append is not sent, even if its timer is late. */
  sendByMs: number;
  abandoned: boolean;
}

export function isPastBound(bound: AppendBound): boolean {
  return bound.abandoned || performance.now() >= bound.sendByMs;
}

interface QueuedDecision {
  rows: StatementRow[];
  bound: AppendBound;
  resolve: () => void;
  reject: (error: Error) => void;
}

export type BatchWriter = (rows: StatementRow[]) => Promise<unknown>;

/** Whether a failed batch's decisions are worth sending again one by one (a refusal for good). */
export type RefusedForGood = (error: unknown) => boolean;

export class BatchGroup {
  private queue: QueuedDecision[] = [];
  private inFlight = 0;
  private flushScheduled = false;
  private batchesWritten = 0;
  private decisionsWritten = 0;

  constructor(private readonly writeBatch: BatchWriter,
    private readonly limits: Readonly<BatchGroupLimits> = defaultBatchGroupLimits,
    private readonly refusedForGood: RefusedForGood = () => false) {
    if (limits.batchesInFlight < 1 || limits.decisionsPerBatch < 1 || limits.rowsPerBatch < 1) {
      throw new RangeError('batch group limits must be at least 1');
    }
  }

  /** Resolves once the batch holding these rows is acknowledged; rejects when it fails or is not sent. */
  submit(rows: StatementRow[], bound: AppendBound): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, bound, resolve, reject });
      if (!this.flushScheduled && this.inFlight < this.limits.batchesInFlight) {
        this.flushScheduled = true;
        // End of this turn: every decision that completed in it joins the same batch.
        setImmediate(this.flushAtTurnEnd);
      }
    });
  }

  /** Decisions queued, not yet sent. */
  get queued(): number {
    return this.queue.length;
  }

  /** Batches sent and decisions in them since start: their ratio is the mean group size. */
  get written(): { batches: number; decisions: number } {
    return { batches: this.batchesWritten, decisions: this.decisionsWritten };
  }

  private readonly flushAtTurnEnd = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private flush(): void {
    while (this.inFlight < this.limits.batchesInFlight && this.queue.length > 0) this.sendOne();
  }

  private sendOne(): void {
    const group: QueuedDecision[] = [];
    const rows: StatementRow[] = [];
    let taken = 0;
    while (taken < this.queue.length && group.length < this.limits.decisionsPerBatch) {
      const next = this.queue[taken] as QueuedDecision;
      if (isPastBound(next.bound)) {
        taken += 1;
        next.reject(new QueuedPastBoundError());
        continue;
      }
      // A decision alone over the row limit still goes, alone: its rows are one atomic unit.
      if (group.length > 0 && rows.length + next.rows.length > this.limits.rowsPerBatch) break;
      taken += 1;
      group.push(next);
      for (const row of next.rows) rows.push(row);
    }
    this.queue = taken === this.queue.length ? [] : this.queue.slice(taken);
    if (group.length === 0) return;
    this.batchesWritten += 1;
    this.decisionsWritten += group.length;
    this.send(rows, () => {
      for (const decision of group) decision.resolve();
    }, (failure: Error) => {
      if (group.length > 1 && this.refusedForGood(failure)) {
        for (const decision of group) this.sendAlone(decision);
        return;
      }
      for (const decision of group) decision.reject(failure);
    });
  }

  /** A decision of a batch the node refused for good, sent again on its own (still within its bound). */
  private sendAlone(decision: QueuedDecision): void {
    if (isPastBound(decision.bound)) {
      decision.reject(new QueuedPastBoundError());
      return;
    }
    this.batchesWritten += 1;
    this.send(decision.rows, decision.resolve, decision.reject);
  }

  private send(rows: StatementRow[], acknowledged: () => void, failed: (error: Error) => void): void {
    this.inFlight += 1;
    let written: Promise<unknown>;
    try {
      written = this.writeBatch(rows);
    } catch (error: unknown) {
      written = Promise.reject(error);
    }
    written.then(acknowledged, (error: unknown) => {
      failed(error instanceof Error ? error : new Error(String(error)));
    }).finally(() => {
      this.inFlight -= 1;
      // Whatever queued meanwhile has waited a batch already: it leaves now, not at the end of a turn.
      this.flush();
    });
  }
}
