/**
 * A ladder of offered rates, each step against a freshly started gateway process, until the
 * gateway saturates. A fresh process per step keeps one step's backlog, heap and decision log
 * from colouring the next; the warm-up inside each step pays for the JIT.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dialect } from '../../src/iso8583';
import type { Framing } from '../../src/network-link/framing';
import { GatewayProcess, metricValue, type BenchProfile } from './gateway-process';
import { serviceCpuMicrosPerRequest, snapshotServiceCpu, type ServiceCpuSnapshot } from './service-cpu';
import { bucketIncrease, bucketQuantile, histogramBuckets } from './gateway-histograms';
import { runOpenLoop } from './open-loop';
import type { RequestMix } from './request-mix';
import { loadAverage1m, loadLine, saturationReasons, type StepRecord } from './results';

export interface LadderOptions {
  profile: BenchProfile;
  rates: readonly number[];
  connections: number;
  warmupMs: number;
  durationMs: number;
  budgetMs: number;
  drainTimeoutMs: number;
  startTimeoutMs: number;
  dialect: Dialect;
  framing: Framing;
  frameBytesMax: number;
  mix: RequestMix;
  seed: number;
  /** Stop after the first saturated step (the normal ladder) or run every rate. */
  stopAtSaturation: boolean;
  /** Called with each step as soon as it is measured (the caller prints its line). */
  onStep: (step: StepRecord) => void;
}

export async function runLadder(options: LadderOptions): Promise<StepRecord[]> {
  const steps: StepRecord[] = [];
  for (const [stepIndex, rate] of options.rates.entries()) {
    const step = await runStep(options, rate, stepIndex);
    steps.push(step);
    options.onStep(step);
    if (options.stopAtSaturation && step.details.saturated) break;
  }
  return steps;
}

/** One rate against one fresh gateway, with the gateway's CPU and stand-in counts around it. */
export async function runStep(options: LadderOptions, rate: number, stepIndex: number,
  cpuProfileDir?: string): Promise<StepRecord> {
  const workDir = mkdtempSync(join(tmpdir(), `bench-${options.profile}-${rate}-`));
  const loadAverage = loadAverage1m();
  let gateway: GatewayProcess;
  try {
    gateway = await GatewayProcess.start({ profile: options.profile, workDir, startTimeoutMs: options.startTimeoutMs,
      ...(cpuProfileDir === undefined ? {} : { cpuProfileDir }) });
  } catch (error) {
    // The error already carries the log line that says why.
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
  let keepWorkDir = process.env['BENCH_KEEP_LOGS'] === '1';
  try {
    // One scrape as the measured window opens, one after the drain: the gateway's own figures
    // then cover the measured requests, not the warm-up's JIT compilation.
    let windowScrape: Promise<string> | undefined;
    let serviceCpuBefore: ServiceCpuSnapshot | undefined;
    const generatorCpuBefore = process.cpuUsage();
    const result = await runOpenLoop({
      host: '127.0.0.1', port: gateway.linkPort, connections: options.connections, ratePerSec: rate,
      warmupMs: options.warmupMs, durationMs: options.durationMs, budgetMs: options.budgetMs,
      drainTimeoutMs: options.drainTimeoutMs, dialect: options.dialect, framing: options.framing,
      frameBytesMax: options.frameBytesMax, mix: options.mix, seed: options.seed + stepIndex, stepTag: stepIndex % 100,
      onWindowStart: () => {
        windowScrape = gateway.scrapeMetrics();
        if (options.profile === 'stack') serviceCpuBefore = snapshotServiceCpu();
      },
    });
    const serviceCpuAfter = serviceCpuBefore === undefined ? undefined : snapshotServiceCpu();
    const generatorCpu = process.cpuUsage(generatorCpuBefore);
    const before = windowScrape === undefined ? '' : await windowScrape;
    const after = await gateway.scrapeMetrics();
    const line = loadLine(options.profile, result);
    const reasons = saturationReasons(line, result.measured, options.budgetMs);
    const gatewayCpuSeconds = metricValue(after, 'process_cpu_seconds_total') - metricValue(before, 'process_cpu_seconds_total');
    const latency = bucketIncrease(histogramBuckets(after, 'gateway_authorisation_duration_seconds'),
      histogramBuckets(before, 'gateway_authorisation_duration_seconds')).get('');
    const stages = bucketIncrease(histogramBuckets(after, 'gateway_stage_duration_seconds', 'stage'),
      histogramBuckets(before, 'gateway_stage_duration_seconds', 'stage'));
    const logWrites = bucketIncrease(histogramBuckets(after, 'gateway_decision_log_write_seconds'),
      histogramBuckets(before, 'gateway_decision_log_write_seconds')).get('');
    if (line.errors > 0) keepWorkDir = true;
    return {
      line,
      details: {
        measuredRequests: result.measured,
        answered: result.answered,
        sentByKind: result.sentByKind,
        unexpected: result.unexpected,
        lost: result.lost,
        unmatchedResponses: result.unmatchedResponses,
        undecodableResponses: result.undecodableResponses,
        serviceP50Ms: percentileMs(result.serviceMicros, 50),
        serviceP99Ms: percentileMs(result.serviceMicros, 99),
        sendLagP99Ms: percentileMs(result.sendLagMicros, 99),
        sendLagMaxMs: result.sendLagMicros.totalCount === 0 ? 0 : Math.round(result.sendLagMicros.maxValue) / 1000,
        gatewayCpuSeconds: round3(gatewayCpuSeconds),
        gatewayCpuMicrosPerRequest: round3((gatewayCpuSeconds * 1e6) / Math.max(1, result.measured)),
        gatewayP99Ms: latency === undefined ? 0 : secondsToMs(bucketQuantile(latency, 0.99)),
        gatewayAnswered: latency?.get(Infinity) ?? 0,
        gatewayStageP99Ms: Object.fromEntries([...stages].map(([stage, buckets]) => [stage, secondsToMs(bucketQuantile(buckets, 0.99))])),
        ...(logWrites === undefined ? {} : {
          decisionLogWriteP99Ms: secondsToMs(bucketQuantile(logWrites, 0.99)),
          decisionLogWrites: logWrites.get(Infinity) ?? 0,
        }),
        generatorCpuSeconds: round3((generatorCpu.user + generatorCpu.system) / 1e6),
        gatewayStandIns: metricValue(after, 'gateway_stand_in_total') - metricValue(before, 'gateway_stand_in_total'),
        gatewayShed: metricValue(after, 'gateway_shed_total') - metricValue(before, 'gateway_shed_total'),
        decisionsPerBatch: ratioOfIncreases(after, before, 'gateway_decision_batched_records_total',
          'gateway_decision_batches_total'),
        ...(serviceCpuBefore === undefined || serviceCpuAfter === undefined ? {} : {
          servicesCpuMicrosPerRequest: serviceCpuMicrosPerRequest(serviceCpuBefore, serviceCpuAfter, result.measured),
        }),
        loadAverage1m: loadAverage,
        saturated: reasons.length > 0,
        saturationReasons: reasons,
        windowMonotonicMicros: result.windowMonotonicMicros,
      },
    };
  } finally {
    await gateway.stop();
    // A step with lost requests keeps its gateway log for a look; the rest are removed.
    if (keepWorkDir) process.stderr.write(`bench: gateway log kept at ${gateway.logPath}\n`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

/** Increase of one counter over the window divided by another's, to 2 decimals; 0 when the second did not move. */
function ratioOfIncreases(after: string, before: string, numerator: string, denominator: string): number {
  const divisor = metricValue(after, denominator) - metricValue(before, denominator);
  if (divisor <= 0) return 0;
  return Math.round(((metricValue(after, numerator) - metricValue(before, numerator)) / divisor) * 100) / 100;
}

/** Milliseconds to 3 decimals; 0 for a histogram with no observations. */
function secondsToMs(seconds: number): number {
  return Number.isNaN(seconds) ? 0 : round3(seconds * 1000);
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function percentileMs(histogram: { totalCount: number; getValueAtPercentile(percentile: number): number }, percentile: number): number {
  return histogram.totalCount === 0 ? 0 : Math.round(histogram.getValueAtPercentile(percentile)) / 1000;
}
