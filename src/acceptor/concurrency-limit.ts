/**
 * How many decisions may be in flight at once, adapted to what the gateway achieves now.
 *
 * Decisions are judged by windows of time, not one by one. One slow decision (a GC pause, a slow
 * disk write) says little; a window in which more than a tenth of the decisions were slower than the
 * target (its p90 above the target) says the gateway is taking on more than it can finish in time.
 * Such a window cuts the limit, by half when most of its decisions were slow and by a fifth
 * otherwise; any other window that had decisions raises it by a tenth (at least one). So the limit
 * settles where the p90 of decisions meets the target, and comes back up to its maximum within
 * seconds once they are fast again. This is the additive-increase, multiplicative-decrease idea of
 * TCP's congestion window and of Netflix's concurrency-limits, judged per window, and with a
 * proportional increase so that a limit cut during a burst does not take minutes to recover.
 *
 * Written here rather than taken from npm: the registry has load shedders that watch the event
 * loop's lag for HTTP servers (toobusy-js, overload-protection), none that limits in-flight work by
 * its measured latency, and this is a few lines on the hot path (two increments per decision).
 *
 * Why the gateway needs it (bench/results/notes.md, seventh session): past saturation, every
 * request admitted waits behind all the others, so once more are in flight than the gateway can
 * finish inside the budget, every one of them misses it, each costs a decision and a stand-in
 * answer, and the throughput collapses. A limit that follows latency keeps the decisions in flight
 * to what can finish in time, and the rest get their stand-in answer at once.
 */
export interface ConcurrencyLimitSettings {
  /** A decision (frame received to decision made) slower than this is slow. */
  targetMs: number;
  /** Decisions are judged per window of this length. */
  windowMs: number;
  /** The limit never goes below this, so a burst of slow decisions cannot shut the gateway. */
  minLimit: number;
  /** ... nor above this; it is also where the limit starts. */
  maxLimit: number;
}

/** A window is slow when more than this share of its decisions were slow. */
const SLOW_SHARE = 0.1;
/** ... and very slow when more than this share were. */
const VERY_SLOW_SHARE = 0.5;
const CUT = 0.8;
const DEEP_CUT = 0.5;
const GROWTH = 0.1;

export class AdaptiveConcurrencyLimit {
  private limitValue: number;
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private windowDecisions = 0;
  private windowSlow = 0;

  constructor(private readonly settings: ConcurrencyLimitSettings) {
    if (!(settings.minLimit >= 1 && settings.maxLimit >= settings.minLimit)) {
      throw new RangeError('concurrency limit needs 1 <= minLimit <= maxLimit, '
        + `got ${settings.minLimit}..${settings.maxLimit}`);
    }
    if (!(settings.targetMs > 0 && settings.windowMs > 0)) {
      throw new RangeError('concurrency limit needs a positive target and window, '
        + `got ${settings.targetMs}, ${settings.windowMs}`);
    }
    this.limitValue = settings.maxLimit;
  }

  /** Decisions that may be in flight now; a request beyond it is answered without deciding. */
  get current(): number {
    return Math.floor(this.limitValue);
  }

  /**
   * One decision finished (or missed its deadline), `latencyMs` after its frame was received;
   * `nowMs` is performance.now(). A window is judged when the first decision after it comes in.
   */
  onDecision(latencyMs: number, nowMs: number): void {
    if (nowMs - this.windowStartMs >= this.settings.windowMs) this.closeWindow(nowMs);
    this.windowDecisions++;
    if (latencyMs > this.settings.targetMs) this.windowSlow++;
  }

  private closeWindow(nowMs: number): void {
    const decisions = this.windowDecisions;
    if (decisions > 0) {
      const { minLimit, maxLimit } = this.settings;
      // At least two slow ones: a single slow decision in a quiet window is a blip, not a trend.
      if (this.windowSlow > Math.max(1, decisions * SLOW_SHARE)) {
        const cut = this.windowSlow > decisions * VERY_SLOW_SHARE ? DEEP_CUT : CUT;
        this.limitValue = Math.max(minLimit, this.limitValue * cut);
      } else if (this.limitValue < maxLimit) {
        this.limitValue = Math.min(maxLimit, this.limitValue + Math.max(1, this.limitValue * GROWTH));
      }
    }
    this.windowStartMs = nowMs;
    this.windowDecisions = 0;
    this.windowSlow = 0;
  }
}
