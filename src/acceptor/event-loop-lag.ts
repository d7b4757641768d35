/**
 * How late the event loop runs now: the longest lateness of a 10 ms interval timer over the last
 * few ticks.
 *
 * A request's bytes wait in the kernel's socket buffer until the loop comes round to read them, and
 * that wait is invisible to the gateway's own clock, which starts at the read. When the loop is
 * saturated the wait grows turn by turn while every decision still looks fast from its read, so the
 * overload limit adds this lag to each decision's latency (concurrency-limit.ts).
 *
 * A timer of our own rather than perf_hooks.monitorEventLoopDelay: on this Node (20) that monitor's
 * maximum did not show a 30 ms block of the loop at all (it read 5.1 ms, its own resolution).
 */
import { performance } from 'node:perf_hooks';

const TICK_MS = 10;
/** The lag reported is the worst of this many ticks, so one quick tick does not hide a slow loop. */
const WINDOW_TICKS = 5;

export class EventLoopLag {
  private readonly timer: NodeJS.Timeout;
  private readonly recentMs = new Float64Array(WINDOW_TICKS);
  private tick = 0;
  private lastTickMs = performance.now();
  private lagMs = 0;

  constructor() {
    this.timer = setInterval(this.onTick, TICK_MS);
    this.timer.unref();
  }

  /** The loop's worst lateness over the last WINDOW_TICKS ticks, in ms (0 when it kept up). */
  get currentMs(): number {
    return this.lagMs;
  }

  private readonly onTick = (): void => {
    const nowMs = performance.now();
    this.recentMs[this.tick % WINDOW_TICKS] = Math.max(0, nowMs - this.lastTickMs - TICK_MS);
    this.tick++;
    this.lastTickMs = nowMs;
    let worst = 0;
    for (let i = 0; i < WINDOW_TICKS; i++) worst = Math.max(worst, this.recentMs[i]!);
    this.lagMs = worst;
  };

  close(): void {
    clearInterval(this.timer);
  }
}
