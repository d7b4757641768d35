/**
 * The HTTP side's benchmark: autocannon at fixed rates on POST /v1/authorise, then the link at a
 * fixed open-loop rate twice, without and with autocannon scraping /metrics, so the cost of a
 * scrape to the link's latency is measured, not guessed. Each part has a fresh gateway.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_ADMIN_TOKEN, GatewayProcess } from './gateway-process';
import { runAutocannon, type AutocannonResult } from './http-load';
import type { LadderOptions } from './ladder';
import { runOpenLoop, type OpenLoopResult } from './open-loop';
import { loadLine, type LoadLine } from './results';

export interface HttpPhaseOptions {
  authoriseRates: readonly number[];
  seconds: number;
  linkRatePerSec: number;
  metricsRatePerSec: number;
  link: Omit<LadderOptions, 'rates' | 'onStep' | 'stopAtSaturation'>;
}

export interface MetricsUnderLoad {
  linkRatePerSec: number;
  metricsRatePerSec: number;
  linkWithoutScrape: LoadLine;
  linkWithScrape: LoadLine;
  metrics: AutocannonResult;
}

export interface HttpPhaseResult {
  authorise: AutocannonResult[];
  metricsUnderLoad: MetricsUnderLoad | undefined;
}

/** An approval on the demo card, small enough that thousands stay inside the demo balance. */
const AUTHORISE_BODY = JSON.stringify({ pan: '5555555555554444', amountMinor: 25, mcc: '5411', expiry: '3012' });

/**
 * Eight connections: enough that autocannon can hold the offered rate while a response is slow
 * (at 1,000/s and a 5 ms answer, about five are busy), few enough not to measure connection setup.
 */
const HTTP_CONNECTIONS = 8;

export async function runHttpPhase(options: HttpPhaseOptions): Promise<HttpPhaseResult> {
  const authorise = await withGateway(options, async (gateway) => {
    const runs: AutocannonResult[] = [];
    for (const rate of options.authoriseRates) {
      runs.push(await runAutocannon({
        url: `http://127.0.0.1:${gateway.httpPort}/v1/authorise`, method: 'POST', ratePerSec: rate, durationSec: options.seconds,
        connections: HTTP_CONNECTIONS, body: AUTHORISE_BODY,
        headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      }));
    }
    return runs;
  });
  if (options.linkRatePerSec <= 0) return { authorise, metricsUnderLoad: undefined };
  // Each link run gets a fresh gateway, as each ladder step does: a second run on the same process
  // would inherit the first one's holds, decision log and heap, and always look worse.
  const withoutScrape = await withGateway(options, (gateway) => runOpenLoop(linkStep(options, gateway, 90)),
    (result) => lostAny(result));
  const [withScrape, metrics] = await withGateway(options, (gateway) => Promise.all([
    runOpenLoop(linkStep(options, gateway, 91)),
    runAutocannon({ url: `http://127.0.0.1:${gateway.httpPort}/metrics`, method: 'GET', ratePerSec: options.metricsRatePerSec,
      durationSec: Math.ceil(options.seconds + linkWarmupMs(options) / 1000), connections: 1 }),
  ]), ([result]) => lostAny(result));
  const profile = options.link.profile;
  return {
    authorise,
    metricsUnderLoad: {
      linkRatePerSec: options.linkRatePerSec, metricsRatePerSec: options.metricsRatePerSec,
      linkWithoutScrape: loadLine(profile, withoutScrape), linkWithScrape: loadLine(profile, withScrape), metrics,
    },
  };
}

/** The warm-up covers autocannon's own start, so the scrapes span the measured window. */
function linkWarmupMs(options: HttpPhaseOptions): number {
  return Math.max(options.link.warmupMs, 1000);
}

function linkStep(options: HttpPhaseOptions, gateway: GatewayProcess, stepTag: number): Parameters<typeof runOpenLoop>[0] {
  const link = options.link;
  return {
    host: '127.0.0.1', port: gateway.linkPort, connections: link.connections, ratePerSec: options.linkRatePerSec,
    warmupMs: linkWarmupMs(options), durationMs: options.seconds * 1000, budgetMs: link.budgetMs,
    drainTimeoutMs: link.drainTimeoutMs, dialect: link.dialect, framing: link.framing, frameBytesMax: link.frameBytesMax,
    mix: link.mix, seed: link.seed + stepTag, stepTag,
  };
}

function lostAny(result: OpenLoopResult): boolean {
  const { lost } = result;
  return lost.timeout + lost.closed + lost.unsent + lost.overwritten > 0;
}

/** Runs `work` against a fresh gateway; keeps the gateway's log when `keepLog` says so. */
async function withGateway<T>(options: HttpPhaseOptions, work: (gateway: GatewayProcess) => Promise<T>,
  keepLog: (result: T) => boolean = () => false): Promise<T> {
  const workDir = mkdtempSync(join(tmpdir(), 'bench-http-'));
  let keep = false;
  try {
    const gateway = await GatewayProcess.start({ profile: options.link.profile, workDir, startTimeoutMs: options.link.startTimeoutMs });
    try {
      const result = await work(gateway);
      keep = keepLog(result);
      return result;
    } finally {
      const exitCode = await gateway.stop();
      if (keep) process.stderr.write(`bench: requests were lost; gateway log kept at ${gateway.logPath} (exit code ${exitCode})\n`);
    }
  } finally {
    if (!keep) rmSync(workDir, { recursive: true, force: true });
  }
}
