/**
 * The open-loop ISO 8583 load generator: requests at a fixed rate, spread over several
 * connections, each timed from when it was *scheduled* to go out, not from when it went out
 * (wrk2's method; reliability-notes §6). A generator that waits for answers before sending, or
 * times from the actual send, hides exactly the stalls a latency budget is about (coordinated
 * omission): here a stall in the gateway, or in this process, lands in the figures.
 *
 * Request i is due at start + i / rate. A timer wakes about every millisecond and sends every
 * request that is due, each connection's frames in one write. Latencies go into HdrHistograms in
 * microseconds. Requests scheduled during the warm-up are sent the same way but not recorded.
 */
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import type { Dialect, IsoMessage } from '../../src/iso8583';
import type { Framing } from '../../src/network-link/framing';
import { LoadConnection, type LossReason, type ResponseSink } from './load-connection';
import { buildPlan, duplicateKind, type RequestMix, type RequestPlan } from './request-mix';
import { RequestFrameWriter, stanOf, transmissionTable } from './request-frames';

export interface OpenLoopOptions {
  host: string;
  port: number;
  connections: number;
  ratePerSec: number;
  warmupMs: number;
  durationMs: number;
  /** The gateway's latency budget: responses later than this count as late. */
  budgetMs: number;
  /** After the last send, how long to wait for outstanding responses before calling them lost. */
  drainTimeoutMs: number;
  dialect: Dialect;
  framing: Framing;
  frameBytesMax: number;
  mix: RequestMix;
  seed: number;
  /** 0-99: makes this step's RRNs differ from other steps' against the same gateway. */
  stepTag: number;
  /** Called once when the warm-up ends and the measured window begins (the ladder scrapes then). */
  onWindowStart?: () => void;
}

export interface LossCounts {
  timeout: number;
  closed: number;
  unsent: number;
  overwritten: number;
}

export interface OpenLoopResult {
  offeredPerSec: number;
  /** Responses (to any request) that arrived inside the measured window, per second. */
  achievedPerSec: number;
  /** Requests scheduled inside the measured window (after warm-up). */
  measured: number;
  answered: number;
  /** From scheduled send to response, microseconds: the figure to judge. */
  latencyMicros: hdr.Histogram;
  /** From actual send to response: the gateway's service time plus the network, for diagnosis. */
  serviceMicros: hdr.Histogram;
  /** How late this process sent each request: large values mean the generator was the bottleneck. */
  sendLagMicros: hdr.Histogram;
  late: number;
  byResponseCode: Record<string, number>;
  /** Responses whose DE 39 differs from what the demo seed should give, by "expected>got". */
  unexpected: Record<string, number>;
  lost: LossCounts;
  unmatchedResponses: number;
  undecodableResponses: number;
  /** Measured requests by kind name (card case names, reversal, duplicate). */
  sentByKind: Record<string, number>;
  /**
   * The measured window on CLOCK_MONOTONIC in microseconds: the clock V8 stamps CPU profiles
   * with, in every process, so a gateway's --cpu-prof samples can be cut to this window.
   */
  windowMonotonicMicros: [from: number, to: number];
}

const SIGN_ON_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 5_000;
/** Highest latency the histograms track, in microseconds: 10 minutes, far past any drain. */
const HISTOGRAM_MAX_MICROS = 600_000_000;

function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HISTOGRAM_MAX_MICROS, numberOfSignificantValueDigits: 3 });
}

/** Runs one step at one rate against a gateway that is already up, then closes its connections. */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const count = Math.ceil((options.ratePerSec * (options.warmupMs + options.durationMs)) / 1000);
  if (!(count > 0)) throw new Error('a step needs a positive rate and duration');
  const plan = buildPlan({
    mix: options.mix, count, connections: options.connections, seed: options.seed,
    // 200 ms back: an original is normally answered by then, as when a real reversal follows.
    referenceLag: Math.max(options.connections + 1, Math.round(options.ratePerSec * 0.2)),
  });
  const connections: LoadConnection[] = [];
  try {
    for (let index = 0; index < options.connections; index++) {
      const connection = await LoadConnection.open(options.host, options.port, {
        dialect: options.dialect, framing: options.framing, frameBytesMax: options.frameBytesMax,
      }, CONNECT_TIMEOUT_MS);
      connections.push(connection);
      // Sign-on STANs sit at the top of the range, away from the first requests' STANs.
      if (!(await connection.signOn(String(999_000 + index), SIGN_ON_TIMEOUT_MS))) {
        throw new Error(`connection ${index}: the gateway did not approve the sign-on (0800/001)`);
      }
    }
    const step = new OpenLoopStep(options, plan, connections);
    return await step.run();
  } finally {
    await Promise.all(connections.map((connection) => connection.close()));
  }
}

class OpenLoopStep implements ResponseSink {
  private readonly intervalMs: number;
  private readonly warmupCount: number;
  private readonly writer: RequestFrameWriter;
  private readonly duplicate: number;
  private readonly kindNames: string[];
  private readonly latency = newHistogram();
  private readonly service = newHistogram();
  private readonly sendLag = newHistogram();
  private readonly codes = new Map<string, number>();
  private readonly unexpected = new Map<string, number>();
  private readonly lost: LossCounts = { timeout: 0, closed: 0, unsent: 0, overwritten: 0 };
  private startMs = 0;
  private startMonotonicMicros = 0;
  private windowStartMs = 0;
  private windowEndMs = 0;
  private next = 0;
  private answered = 0;
  private answeredInWindow = 0;
  private late = 0;
  private sendingDone: (() => void) | undefined;

  constructor(
    private readonly options: OpenLoopOptions,
    private readonly plan: RequestPlan,
    private readonly connections: LoadConnection[],
  ) {
    this.intervalMs = 1000 / options.ratePerSec;
    this.warmupCount = Math.ceil(options.warmupMs / this.intervalMs);
    this.duplicate = duplicateKind(options.mix);
    this.kindNames = [...options.mix.cards.map(([card]) => card.name), 'reversal', 'duplicate'];
    const wallStartMs = Date.now();
    const tableStartMs = Math.floor(wallStartMs / 1000) * 1000;
    const offsetMs = wallStartMs - tableStartMs;
    const seconds = Math.ceil((offsetMs + options.warmupMs + options.durationMs) / 1000) + 1;
    const intervalMs = this.intervalMs;
    this.writer = new RequestFrameWriter({
      dialect: options.dialect, framing: options.framing, cards: options.mix.cards.map(([card]) => card), plan,
      stepTag: options.stepTag, transmissions: transmissionTable(tableStartMs, seconds),
      secondOf: (index) => Math.floor((offsetMs + index * intervalMs) / 1000),
    });
    for (const connection of connections) connection.attach(this);
  }

  async run(): Promise<OpenLoopResult> {
    const sending = new Promise<void>((resolve) => {
      this.sendingDone = resolve;
    });
    this.startMs = performance.now();
    this.startMonotonicMicros = Number(process.hrtime.bigint() / 1000n);
    this.windowStartMs = this.startMs + this.options.warmupMs;
    this.windowEndMs = this.windowStartMs + this.options.durationMs;
    this.tick();
    await sending;
    await this.drain();
    return this.result();
  }

  private readonly tick = (): void => {
    const now = performance.now();
    const { plan, connections, writer } = this;
    let due = Math.floor((now - this.startMs) / this.intervalMs) + 1;
    if (due > plan.count) due = plan.count;
    while (this.next < due) {
      const index = this.next++;
      // The first measured request is about to go: the window opens now, warm-up answered or not.
      if (index === this.warmupCount) this.options.onWindowStart?.();
      const connection = connections[index % connections.length]!;
      if (connection.batchRoom < writer.largestFrameBytes) connection.flush();
      // A retransmission carries its original's STAN, so its response comes back under that STAN.
      const wireIndex = plan.kinds[index] === this.duplicate ? plan.references[index]! : index;
      const offset = connection.reserve(index, stanOf(wireIndex), now);
      if (offset >= 0) connection.commit(writer.write(index, connection.batchBuffer, offset));
      if (index >= this.warmupCount) {
        this.sendLag.recordValue(Math.max(1, Math.round((now - this.scheduledMs(index)) * 1000)));
      }
    }
    for (const connection of connections) connection.flush();
    if (this.next < plan.count) setTimeout(this.tick, 1);
    else this.sendingDone?.();
  };

  private scheduledMs(index: number): number {
    return this.startMs + index * this.intervalMs;
  }

  onResponse(index: number, sentMs: number, arrivalMs: number, response: IsoMessage): void {
    if (arrivalMs >= this.windowStartMs && arrivalMs < this.windowEndMs) this.answeredInWindow += 1;
    if (index < this.warmupCount) return;
    this.answered += 1;
    const latencyMs = arrivalMs - this.scheduledMs(index);
    this.latency.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
    this.service.recordValue(Math.max(1, Math.round((arrivalMs - sentMs) * 1000)));
    if (latencyMs > this.options.budgetMs) this.late += 1;
    const code = response.getString(39) ?? 'none';
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    const expected = this.plan.expectedCodes[this.plan.expected[index]!]!;
    if (code !== expected) {
      const key = `${expected}>${code}`;
      this.unexpected.set(key, (this.unexpected.get(key) ?? 0) + 1);
    }
  }

  onLost(index: number, reason: LossReason): void {
    if (index >= this.warmupCount) this.lost[reason] += 1;
  }

  /** Waits for outstanding responses, up to the drain timeout; the rest are timeouts. */
  private async drain(): Promise<void> {
    const deadline = performance.now() + this.options.drainTimeoutMs;
    while (performance.now() < deadline && this.connections.some((connection) => connection.outstanding > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const connection of this.connections) connection.abandonOutstanding('timeout');
  }

  private result(): OpenLoopResult {
    const sentByKind: Record<string, number> = {};
    for (let index = this.warmupCount; index < this.plan.count; index++) {
      const name = this.kindNames[this.plan.kinds[index]!]!;
      sentByKind[name] = (sentByKind[name] ?? 0) + 1;
    }
    return {
      offeredPerSec: this.options.ratePerSec,
      achievedPerSec: Math.round((this.answeredInWindow * 1000) / this.options.durationMs),
      measured: this.plan.count - this.warmupCount,
      answered: this.answered,
      latencyMicros: this.latency,
      serviceMicros: this.service,
      sendLagMicros: this.sendLag,
      late: this.late,
      byResponseCode: Object.fromEntries([...this.codes.entries()].sort(([a], [b]) => a.localeCompare(b))),
      unexpected: Object.fromEntries(this.unexpected),
      lost: this.lost,
      unmatchedResponses: this.connections.reduce((sum, connection) => sum + connection.unmatchedResponses, 0),
      undecodableResponses: this.connections.reduce((sum, connection) => sum + connection.undecodable, 0),
      sentByKind,
      windowMonotonicMicros: [this.startMonotonicMicros + this.options.warmupMs * 1000,
        this.startMonotonicMicros + (this.options.warmupMs + this.options.durationMs) * 1000],
    };
  }
}
