/**
 * Flags of `npm run bench` / `npm run bench:stack`, with the defaults of a real run and of the
 * smoke run CI uses, each with its reason.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchProfile } from './gateway-process';

export interface BenchOptions {
  profile: BenchProfile;
  smoke: boolean;
  rates: number[];
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  budgetMs: number;
  drainTimeoutSeconds: number;
  startTimeoutSeconds: number;
  stopAtSaturation: boolean;
  /** Skip the rate ladder (to re-run only the HTTP side or the profile). */
  ladder: boolean;
  /** Rates of the autocannon POST /v1/authorise runs; empty skips them. */
  httpRates: number[];
  httpSeconds: number;
  /** Link rate while autocannon scrapes /metrics; 0 skips that run. */
  metricsUnderLinkRate: number;
  metricsRate: number;
  /** Take a CPU profile of the gateway at this rate after the ladder; 0: none. */
  cpuProfileRate: number;
  seed: number;
  resultsDir: string;
  docsDir: string;
  /** Regenerate docs/benchmarks.md (in docsDir) from resultsDir afterwards. */
  report: boolean;
  /**
   * Stack only: before the ladder, this many unmeasured seconds at servicesWarmupRate when
   * Cassandra started less than servicesFreshMinutes ago (0 seconds: never).
   */
  servicesWarmupSeconds: number;
  servicesWarmupRate: number;
  servicesFreshMinutes: number;
}

export const HELP = `Open-loop ISO 8583 load benchmark of the gateway (bench/load.ts).

  npm run bench [-- flags]          embedded profile (no services needed)
  npm run bench:stack [-- flags]    full stack (GATEWAY_PROFILE=stack; needs npm run services:up)

Per offered rate it starts a fresh gateway (node dist/src/main.js), drives its link at that rate
over several connections, and prints one JSON line:
  {"profile","offeredPerSec","achievedPerSec","p50Ms","p99Ms","p999Ms","maxMs","late","byResponseCode","errors"}
Results go to bench/results/, the chart to docs/, and docs/benchmarks.md is regenerated.

  --smoke                  seconds-long run for CI (also BENCH_SMOKE=1); writes to a temp folder
  --rates N,N,...          offered rates (authorisations/s), ascending
  --all-rates              run every rate even after saturation
  --no-ladder              skip the ladder (only the autocannon runs and/or the CPU profile)
  --seconds N              measured seconds per rate (default 10)
  --warmup-seconds N       unmeasured seconds first (default 3)
  --connections N          TCP connections to the link (default 4)
  --budget-ms N            the deadline "late" is judged against (default 50, the gateway's budget)
  --http-rates N,...       autocannon POST /v1/authorise at these rates (default 250,500,1000; "" skips)
  --http-seconds N         seconds per autocannon run (default 5)
  --metrics-under-rate N   link rate while autocannon scrapes /metrics (default 5000; 0 skips)
  --metrics-rate N         /metrics requests per second during that run (default 20)
  --cpu-profile-rate N     afterwards, profile the gateway (--cpu-prof) at this rate
  --start-timeout-seconds N  wait for the gateway's /readyz (default 20; stack 60)
  --results-dir DIR        default bench/results (smoke: a temp folder)
  --docs-dir DIR           default docs (smoke: the same temp folder)
  --no-report              do not regenerate benchmarks.md
  --seed N                 seed of the request mix (default 8583)
  --services-warmup-seconds N  stack: unmeasured seconds against the services before the ladder, when
                           Cassandra started less than --services-fresh-minutes ago (default 60; 0: never)
  --services-warmup-rate N     stack: the rate of that warm-up (default 500)
  --services-fresh-minutes N   stack: a node younger than this is warmed first (default 10)
`;

const EMBEDDED_RATES = [1_000, 2_500, 5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 40_000, 50_000];
// The stack adds a Redis round trip and a Cassandra write per authorisation: its ladder is finer
// at the low end, around the 1k/s no-late target and the 3k/s throughput target.
const STACK_RATES = [250, 500, 1_000, 2_000, 3_000, 4_000, 5_000, 7_500, 10_000];

function numberList(value: string, flag: string): number[] {
  if (value.trim() === '') return [];
  const list = value.split(',').map((item) => Number(item.trim()));
  if (list.some((item) => !Number.isFinite(item) || item <= 0)) throw new Error(`--${flag}: positive numbers, comma-separated`);
  return list;
}

function positive(value: string | undefined, flag: string, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || (!allowZero && parsed === 0)) throw new Error(`--${flag} must be a positive number`);
  return parsed;
}

export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv, repo: string): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      profile: { type: 'string' }, smoke: { type: 'boolean' }, rates: { type: 'string' }, 'all-rates': { type: 'boolean' },
      'no-ladder': { type: 'boolean' },
      seconds: { type: 'string' }, 'warmup-seconds': { type: 'string' }, connections: { type: 'string' },
      'budget-ms': { type: 'string' }, 'http-rates': { type: 'string' }, 'http-seconds': { type: 'string' },
      'metrics-under-rate': { type: 'string' }, 'metrics-rate': { type: 'string' }, 'cpu-profile-rate': { type: 'string' },
      'results-dir': { type: 'string' }, 'docs-dir': { type: 'string' }, 'no-report': { type: 'boolean' },
      seed: { type: 'string' }, 'start-timeout-seconds': { type: 'string' }, help: { type: 'boolean' },
      'services-warmup-seconds': { type: 'string' }, 'services-warmup-rate': { type: 'string' },
      'services-fresh-minutes': { type: 'string' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  const profileText = values.profile ?? env['GATEWAY_PROFILE'] ?? 'embedded';
  if (profileText !== 'embedded' && profileText !== 'stack') throw new Error('--profile is embedded or stack');
  const profile: BenchProfile = profileText;
  const smoke = values.smoke === true || env['BENCH_SMOKE'] === '1';
  const smokeDir = join(tmpdir(), `bench-smoke-${process.pid}`);
  const connections = positive(values.connections, 'connections', smoke ? 2 : 4);
  if (!Number.isInteger(connections) || connections > 64) throw new Error('--connections: an integer from 1 to 64');
  const rates = values.rates === undefined
    // Smoke: two low rates, enough to check the ladder and the report, light on a shared CI box.
    ? (smoke ? [200, 400] : profile === 'stack' ? STACK_RATES : EMBEDDED_RATES)
    : numberList(values.rates, 'rates');
  if (rates.length === 0) throw new Error('--rates: at least one rate');
  return {
    profile,
    smoke,
    rates,
    connections,
    warmupSeconds: positive(values['warmup-seconds'], 'warmup-seconds', smoke ? 0.5 : 3, true),
    durationSeconds: positive(values.seconds, 'seconds', smoke ? 1.5 : 10),
    budgetMs: positive(values['budget-ms'], 'budget-ms', 50),
    // 5 s = 100 budgets: a response later than that is lost to the scheme anyway.
    drainTimeoutSeconds: 5,
    // The stack's clients connect to Redis, etcd and Cassandra and claim shards before ready.
    startTimeoutSeconds: positive(values['start-timeout-seconds'], 'start-timeout-seconds', profile === 'stack' ? 60 : 20),
    stopAtSaturation: values['all-rates'] !== true && !smoke,
    ladder: values['no-ladder'] !== true,
    httpRates: values['http-rates'] === undefined ? (smoke ? [100] : [250, 500, 1_000]) : numberList(values['http-rates'], 'http-rates'),
    httpSeconds: positive(values['http-seconds'], 'http-seconds', smoke ? 1 : 5),
    metricsUnderLinkRate: positive(values['metrics-under-rate'], 'metrics-under-rate', smoke ? 200 : profile === 'stack' ? 1_000 : 5_000, true),
    // Prometheus scrapes every 5 s (config/prometheus/prometheus.yml); 20/s is 100 times that, a
    // worst case (several Prometheus replicas, someone curling /metrics in a loop).
    metricsRate: positive(values['metrics-rate'], 'metrics-rate', smoke ? 10 : 20),
    cpuProfileRate: positive(values['cpu-profile-rate'], 'cpu-profile-rate', 0, true),
    seed: positive(values.seed, 'seed', 8583),
    resultsDir: values['results-dir'] ?? (smoke ? smokeDir : join(repo, 'bench', 'results')),
    docsDir: values['docs-dir'] ?? (smoke ? smokeDir : join(repo, 'docs')),
    report: values['no-report'] !== true,
    // A Cassandra node started a minute ago is still compiling its hot paths: on this machine the
    // first 1,000/s runs after a fresh start had hundreds to thousands late where later ones had
    // none (bench/results/notes.md). Smoke runs and the embedded profile have nothing to warm.
    servicesWarmupSeconds: profile === 'stack' && !smoke
      ? positive(values['services-warmup-seconds'], 'services-warmup-seconds', 60, true) : 0,
    servicesWarmupRate: positive(values['services-warmup-rate'], 'services-warmup-rate', 500),
    servicesFreshMinutes: positive(values['services-fresh-minutes'], 'services-fresh-minutes', 10),
  };
}
