/**
 * How many decisions may be in flight at once, adapted to what the gateway achieves now.
 *
 * Additive increase, multiplicative decrease, as TCP's congestion window and the AIMD limit of
 * Netflix's concurrency-limits: each decision that finishes inside the target latency raises the
 * limit by 1/limit (about one per round of decisions), and a decision slower than the target cuts it
 * by `backoff`, at most once per target interval, so one slow batch of decisions is one cut, not
 * hundreds. Written here rather than taken from npm: the registry has load shedders that watch the
 * event loop's lag for HTTP servers (toobusy-js, overload-protection), none that limits in-flight
 * work by its measured latency, and this is a few lines on the hot path.
 *
 * Why the gateway needs it (bench/results/notes.md, seventh session): past saturation, every
 * request admitted waits behind all the others in flight, so once more are in flight than the
 * gateway can finish inside the budget, every one of them misses it, each costs a decision and a
 * stand-in answer, and the throughput collapses. A limit that follows latency keeps the decisions
 * in flight to what can finish in time, and the rest get their stand-in answer at once.
 */
export interface ConcurrencyLimitSettings {
  /** A decision (frame received to decision made) slower than this cuts the limit. */
  targetMs: number;
  /** The limit never goes below this, so a burst of slow decisions cannot shut the gateway. */
  minLimit: number;
  /** ... nor above this; it is also where the limit starts. */
  maxLimit: number;
  /** The factor of a cut, between 0 and 1. */
  backoff: number;
}

export class AdaptiveConcurrencyLimit {
  private limitValue: number;
  private lastCutMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly settings: ConcurrencyLimitSettings) {
    if (!(settings.minLimit >= 1 && settings.maxLimit >= settings.minLimit)) {
      throw new RangeError(`concurrency limit needs 1 <= minLimit <= maxLimit, got ${settings.minLimit}..${settings.maxLimit}`);
    }
    if (!(settings.backoff > 0 && settings.backoff < 1)) {
      throw new RangeError(`concurrency limit backoff must be between 0 and 1, got ${settings.backoff}`);
    }
    this.limitValue = settings.maxLimit;
  }

  /** Decisions that may be in flight now; a request beyond it is answered without deciding. */
  get current(): number {
    return Math.floor(this.limitValue);
  }

  /** One decision finished, `latencyMs` after its frame was received; `nowMs` is performance.now(). */
  onDecision(latencyMs: number, nowMs: number): void {
    if (latencyMs <= this.settings.targetMs) {
      if (this.limitValue < this.settings.maxLimit) {
        this.limitValue = Math.min(this.settings.maxLimit, this.limitValue + 1 / this.limitValue);
      }
    } else if (nowMs - this.lastCutMs >= this.settings.targetMs) {
      this.lastCutMs = nowMs;
      this.limitValue = Math.max(this.settings.minLimit, this.limitValue * this.settings.backoff);
    }
  }
}
