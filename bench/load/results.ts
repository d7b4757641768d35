/**
 * The shapes the load benchmark prints and records in bench/results/, and what they are judged
 * against. One printed line per offered rate, with exactly the keys of LoadLine; everything else
 * (why a step saturated, CPU per request, generator lag) goes to the results file.
 */
import { spawnSync } from 'node:child_process';
import { cpus, release, totalmem, availableParallelism, loadavg } from 'node:os';
import { repoDir, type BenchProfile } from './gateway-process';
import type { OpenLoopResult } from './open-loop';

export interface LoadLine {
  profile: BenchProfile;
  offeredPerSec: number;
  achievedPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Responses later than the budget, as the generator measured them from the scheduled send. */
  late: number;
  byResponseCode: Record<string, number>;
  /** Measured requests that got no response: timed out, connection closed, or never sent. */
  errors: number;
}

export const LOAD_LINE_KEYS: readonly (keyof LoadLine)[] = [
  'profile', 'offeredPerSec', 'achievedPerSec', 'p50Ms', 'p99Ms', 'p999Ms', 'maxMs', 'late', 'byResponseCode', 'errors',
];

export interface StepDetails {
  measuredRequests: number;
  answered: number;
  sentByKind: Record<string, number>;
  /** Responses whose DE 39 was not what the demo seed gives, by "expected>got". */
  unexpected: Record<string, number>;
  lost: OpenLoopResult['lost'];
  unmatchedResponses: number;
  undecodableResponses: number;
  /** From the actual send: the gateway's service time without the generator's own lateness. */
  serviceP50Ms: number;
  serviceP99Ms: number;
  /** How late the generator sent: if this is near the latency, the generator was the bottleneck. */
  sendLagP99Ms: number;
  sendLagMaxMs: number;
  /** The gateway process's CPU over the measured window, from its process_cpu_seconds_total. */
  gatewayCpuSeconds: number;
  gatewayCpuMicrosPerRequest: number;
  /**
   * The gateway's own p99 over the measured window, from its histograms: frame read to response
   * written, and per stage. Far below the generator's p99, the time went before the gateway saw
   * the frame (queued in the socket, a starved CPU) rather than inside it.
   */
  gatewayP99Ms: number;
  /** Answers the gateway's histogram counted over the window: close to measuredRequests when the window is right. */
  gatewayAnswered?: number;
  gatewayStageP99Ms: Record<string, number>;
  /**
   * Embedded only: p99 of the decision log's O_DSYNC batch writes over the window, timed in its
   * writer thread (the disk's part of the persist stage), and how many batches there were.
   */
  decisionLogWriteP99Ms?: number;
  decisionLogWrites?: number;
  generatorCpuSeconds: number;
  /** The gateway's own count of answers by the stand-in policy at the deadline. */
  gatewayStandIns: number;
  /**
   * The gateway's own count of requests shed by its overload limit: answered by the stand-in policy
   * at once, without a decision. Absent in results recorded before shedding existed.
   */
  gatewayShed?: number;
  /**
   * Stack only: decision records per Cassandra batch over the window (group commit, batch-group.ts);
   * 0 when the profile writes no batches.
   */
  decisionsPerBatch?: number;
  /**
   * Stack only: each service's CPU per measured request over the window, from /proc (service-cpu.ts):
   * with the gateway's own figure, what a decision costs the whole machine.
   */
  servicesCpuMicrosPerRequest?: Partial<Record<'cassandra' | 'redis' | 'etcd1', number>>;
  /** 1-minute load average when the step started: other work on a shared machine shows here. */
  loadAverage1m: number;
  saturated: boolean;
  saturationReasons: string[];
  /** See OpenLoopResult.windowMonotonicMicros. */
  windowMonotonicMicros: [from: number, to: number];
}

export interface StepRecord {
  line: LoadLine;
  details: StepDetails;
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  os: string;
  /** The code measured: the repository's commit, marked when src/ had uncommitted changes. */
  commit: string;
}

function measuredCommit(): string {
  const run = (args: string[]): string | undefined => {
    const result = spawnSync('git', args, { cwd: repoDir(), encoding: 'utf8', timeout: 5000 });
    return result.status === 0 ? result.stdout.trim() : undefined;
  };
  const commit = run(['rev-parse', '--short', 'HEAD']);
  if (commit === undefined) return 'unknown (not a git checkout)';
  const changes = run(['status', '--porcelain', '--', 'src', 'config']);
  return changes === undefined || changes === '' ? commit : `${commit} + uncommitted changes in src/ or config/`;
}

export function machineInfo(): MachineInfo {
  return {
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${process.platform} ${release()}`,
    commit: measuredCommit(),
  };
}

export function loadAverage1m(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

export interface LoadTargets {
  /** At least this rate... */
  ratePerSec: number;
  /** ...answered with p99 at or under this. */
  p99Ms: number;
  /** At this rate, no response after the deadline (0: no such target). */
  noLateAtPerSec: number;
}

/** The targets for a 2-core machine shared by the gateway, the services and the generator. */
export const TARGETS: Record<BenchProfile, LoadTargets> = {
  embedded: { ratePerSec: 20_000, p99Ms: 5, noLateAtPerSec: 0 },
  stack: { ratePerSec: 3_000, p99Ms: 20, noLateAtPerSec: 1_000 },
};

export interface LoadSettings {
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  budgetMs: number;
  drainTimeoutSeconds: number;
  mix: Array<{ kind: string; weight: number; expectedResponseCode: string }>;
  /**
   * Stack: what was run against the services before the ladder, unmeasured, and why (a fresh
   * Cassandra node is warmed; an older one, or one not started by scripts/services.sh, is not).
   */
  servicesWarmup?: { seconds: number; ratePerSec: number; cassandraAgeSeconds: number | null; ran: boolean };
}

export interface LoadResults {
  kind: 'load-ladder';
  profile: BenchProfile;
  smoke: boolean;
  recordedAt: string;
  machine: MachineInfo;
  command: string;
  settings: LoadSettings;
  targets: LoadTargets;
  steps: StepRecord[];
}

function milliseconds(micros: number): number {
  return Math.round(micros) / 1000;
}

export function loadLine(profile: BenchProfile, result: OpenLoopResult): LoadLine {
  const latency = result.latencyMicros;
  const empty = latency.totalCount === 0;
  const lost = result.lost;
  const max = empty ? 0 : latency.maxValue;
  // A percentile reads the top of its HdrHistogram bucket, which can sit a hair above the
  // recorded maximum; no percentile is reported above the maximum.
  const at = (percentile: number): number => (empty ? 0 : milliseconds(Math.min(max, latency.getValueAtPercentile(percentile))));
  return {
    profile,
    offeredPerSec: result.offeredPerSec,
    achievedPerSec: result.achievedPerSec,
    p50Ms: at(50),
    p99Ms: at(99),
    p999Ms: at(99.9),
    maxMs: milliseconds(max),
    late: result.late,
    byResponseCode: result.byResponseCode,
    errors: lost.timeout + lost.closed + lost.unsent + lost.overwritten,
  };
}

/** Why a step counts as past saturation; empty when the gateway kept up within the budget. */
export function saturationReasons(line: LoadLine, measured: number, budgetMs: number): string[] {
  const reasons: string[] = [];
  // 5 %: below that, the shortfall is the step's edges (responses to the last requests arriving
  // after the window closes), not a gateway that cannot keep up.
  if (line.achievedPerSec < 0.95 * line.offeredPerSec) reasons.push('achieved below 95 % of offered');
  if (line.p99Ms > budgetMs) reasons.push(`p99 above the ${budgetMs} ms budget`);
  if (line.errors > 0.01 * measured) reasons.push('more than 1 % of requests unanswered');
  return reasons;
}

/** Did a ladder meet its targets? Each verdict names the step that decides it. */
export function verdicts(profile: BenchProfile, steps: readonly StepRecord[]): string[] {
  const target = TARGETS[profile];
  const out: string[] = [];
  const meeting = steps.filter((step) => step.line.offeredPerSec >= target.ratePerSec && !step.details.saturated
    && step.line.p99Ms <= target.p99Ms && step.line.errors === 0);
  const best = steps.filter((step) => !step.details.saturated && step.line.p99Ms <= target.p99Ms && step.line.errors === 0)
    .reduce((top, step) => Math.max(top, step.line.achievedPerSec), 0);
  out.push(meeting.length > 0
    ? `met: ${meeting[0]!.line.offeredPerSec}/s answered at p99 ${meeting[0]!.line.p99Ms} ms (target >= ${target.ratePerSec}/s at p99 <= ${target.p99Ms} ms)`
    : `missed: highest rate with p99 <= ${target.p99Ms} ms and no errors was ${best}/s (target ${target.ratePerSec}/s)`);
  if (target.noLateAtPerSec > 0) {
    const at = steps.find((step) => step.line.offeredPerSec === target.noLateAtPerSec);
    out.push(at === undefined
      ? `not measured: no step at ${target.noLateAtPerSec}/s for the no-late-response target`
      : at.line.late === 0 && at.line.errors === 0
        ? `met: no response after the deadline at ${target.noLateAtPerSec}/s`
        : `missed: ${at.line.late} responses after the deadline at ${target.noLateAtPerSec}/s`);
  }
  return out;
}
