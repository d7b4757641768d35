/**
 * `npm run bench` (embedded profile) and `npm run bench:stack` (full stack): the open-loop ISO 8583
 * ladder, the autocannon runs on the HTTP side, optionally a CPU profile, then the results file,
 * the chart and docs/benchmarks.md. Stdout carries only the one JSON line per offered rate;
 * progress and summaries go to stderr. `--help` lists the flags.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadDialect } from '../src/iso8583';
import { framingFor } from '../src/network-link/framing';
import { writeBenchmarksReport } from '../scripts/bench-report';
import { summariseCpuProfile } from './load/cpu-profile';
import { GatewayStartError, repoDir } from './load/gateway-process';
import { runHttpPhase } from './load/http-phase';
import { runLadder, runStep, type LadderOptions } from './load/ladder';
import { renderLatencyChart } from './load/latency-chart';
import { HELP, parseBenchArgs, type BenchOptions } from './load/options';
import { DEFAULT_MIX } from './load/request-mix';
import { machineInfo, TARGETS, verdicts, type LoadResults, type LoadSettings, type StepRecord } from './load/results';
import { serviceAgeSeconds } from './load/service-cpu';

function say(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

function commandLine(options: BenchOptions): string {
  const base = options.profile === 'stack' ? 'npm run bench:stack' : 'npm run bench';
  const given = process.argv.slice(2);
  // `npm run bench:stack` passes --profile stack itself.
  const at = given.indexOf('--profile');
  if (at !== -1 && given[at + 1] === 'stack') given.splice(at, 2);
  // Quoted as a shell would need them, so the recorded command can be pasted back.
  const args = given.map((arg) => (arg === '' || /[\s"'$]/.test(arg) ? JSON.stringify(arg) : arg));
  return args.length === 0 ? base : `${base} -- ${args.join(' ')}`;
}

function ladderOptions(options: BenchOptions, onStep: (step: StepRecord) => void): LadderOptions {
  return {
    profile: options.profile,
    rates: options.rates,
    connections: options.connections,
    warmupMs: options.warmupSeconds * 1000,
    durationMs: options.durationSeconds * 1000,
    budgetMs: options.budgetMs,
    drainTimeoutMs: options.drainTimeoutSeconds * 1000,
    startTimeoutMs: options.startTimeoutSeconds * 1000,
    // The gateway's default link: ascii dialect, 2-byte binary length (config/default.yaml).
    dialect: loadDialect('ascii'),
    framing: framingFor('binary2'),
    frameBytesMax: 8192,
    mix: DEFAULT_MIX,
    seed: options.seed,
    stopAtSaturation: options.stopAtSaturation,
    onStep,
  };
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

async function cpuProfile(options: BenchOptions, ladder: LadderOptions): Promise<void> {
  const profileDir = mkdtempSync(join(tmpdir(), 'bench-cpu-profile-'));
  say(`profiling the gateway at ${options.cpuProfileRate}/s (node --cpu-prof)`);
  const step = await runStep(ladder, options.cpuProfileRate, 99, profileDir);
  const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`the gateway wrote no .cpuprofile into ${profileDir}`);
  // Only the measured window: start-up and warm-up would otherwise dominate a short run.
  const summary = summariseCpuProfile(JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as unknown,
    step.details.windowMonotonicMicros);
  writeJson(join(options.resultsDir, `profile-${options.profile}.json`), {
    kind: 'cpu-profile', profile: options.profile, recordedAt: new Date().toISOString(), machine: machineInfo(),
    command: `${commandLine(options)}`, ratePerSec: options.cpuProfileRate, durationSeconds: options.durationSeconds,
    line: step.line, gatewayCpuMicrosPerRequest: step.details.gatewayCpuMicrosPerRequest, summary,
  });
  say('busiest areas (self time, share of busy time):');
  for (const area of summary.byArea.slice(0, 10)) say(`  ${area.selfPercent.toFixed(1).padStart(5)} %  ${area.area}`);
  say('top frames:');
  for (const frame of summary.topFrames.slice(0, 15)) {
    say(`  ${frame.selfPercent.toFixed(1).padStart(5)} %  ${frame.functionName}  ${frame.location}`);
  }
  say('our functions by total time (self plus callees):');
  for (const frame of summary.topInclusive.slice(0, 15)) {
    say(`  ${frame.selfPercent.toFixed(1).padStart(5)} %  ${frame.functionName}  ${frame.location}`);
  }
  say(`raw profile kept at ${join(profileDir, file)} (open it in Chrome DevTools > Performance)`);
}

/** The warm-up's step number (its seed and its tag in the requests' keys); 99 is the CPU profile's. */
const SERVICES_WARMUP_STEP = 98;

/**
 * Stack: a Cassandra node that started minutes ago is still compiling its hot paths; warm it (and
 * Redis, etcd) with an unmeasured run first, so the ladder measures the services as they run for
 * days. Reported in the results' settings either way.
 */
async function warmServices(options: BenchOptions, ladder: LadderOptions): Promise<LoadSettings['servicesWarmup']> {
  if (options.profile !== 'stack' || options.servicesWarmupSeconds <= 0) return undefined;
  const age = serviceAgeSeconds('cassandra');
  const ran = age !== undefined && age < options.servicesFreshMinutes * 60;
  const record = { seconds: options.servicesWarmupSeconds, ratePerSec: options.servicesWarmupRate,
    cassandraAgeSeconds: age === undefined ? null : Math.round(age), ran };
  if (!ran) {
    say(age === undefined
      ? 'services warm-up skipped: no Cassandra started by scripts/services.sh to date'
      : `services warm-up skipped: Cassandra has run for ${Math.round(age / 60)} min`);
    return record;
  }
  say(`warming the services: Cassandra started ${Math.round(age)} s ago; ${options.servicesWarmupSeconds} s at `
    + `${options.servicesWarmupRate}/s, not measured`);
  await runStep({ ...ladder, warmupMs: 0, durationMs: options.servicesWarmupSeconds * 1000, onStep: () => undefined },
    options.servicesWarmupRate, SERVICES_WARMUP_STEP);
  return record;
}

async function ladderPart(options: BenchOptions, ladder: LadderOptions, printStep: (step: StepRecord) => void): Promise<void> {
  const servicesWarmup = await warmServices(options, ladder);
  const steps = await runLadder(ladder);
  // A target stated at one rate (the stack's "no late answer at 1k/s") is measured even when the
  // ladder saturated below it, so its verdict is never "not measured".
  const targetRate = TARGETS[options.profile].noLateAtPerSec;
  if (targetRate > 0 && options.rates.includes(targetRate) && !steps.some((step) => step.line.offeredPerSec === targetRate)) {
    const step = await runStep(ladder, targetRate, steps.length);
    printStep(step);
    steps.push(step);
    steps.sort((a, b) => a.line.offeredPerSec - b.line.offeredPerSec);
  }
  const machine = machineInfo();
  const results: LoadResults = {
    kind: 'load-ladder', profile: options.profile, smoke: options.smoke, recordedAt: new Date().toISOString(), machine,
    command: commandLine(options),
    settings: {
      connections: options.connections, warmupSeconds: options.warmupSeconds, durationSeconds: options.durationSeconds,
      budgetMs: options.budgetMs, drainTimeoutSeconds: options.drainTimeoutSeconds,
      mix: [...DEFAULT_MIX.cards.map(([card, weight]) => ({ kind: card.name, weight, expectedResponseCode: card.expectedResponseCode })),
        { kind: 'reversal', weight: DEFAULT_MIX.reversal, expectedResponseCode: '00' },
        { kind: 'duplicate', weight: DEFAULT_MIX.duplicate, expectedResponseCode: 'as the original' }],
      ...(servicesWarmup === undefined ? {} : { servicesWarmup }),
    },
    targets: TARGETS[options.profile],
    steps,
  };
  const resultsPath = join(options.resultsDir, `load-${options.profile}.json`);
  writeJson(resultsPath, results);
  const chartPath = join(options.docsDir, `benchmarks-load-${options.profile}.svg`);
  writeFileSync(chartPath, renderLatencyChart(steps.map((step) => step.line), {
    title: `Open-loop ISO 8583 load, ${options.profile} profile`, budgetMs: options.budgetMs,
    targetP99Ms: TARGETS[options.profile].p99Ms,
  }));
  for (const verdict of verdicts(options.profile, steps)) say(`target ${verdict}`);
  say(`results: ${relative(process.cwd(), resultsPath)}, chart: ${relative(process.cwd(), chartPath)}`);
}

async function main(): Promise<number> {
  const repo = repoDir();
  const parsed = parseBenchArgs(process.argv.slice(2), process.env, repo);
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const options = parsed;
  mkdirSync(options.resultsDir, { recursive: true });
  mkdirSync(options.docsDir, { recursive: true });
  const machine = machineInfo();
  say(`${options.profile} profile, rates ${options.rates.join(', ')}/s, ${options.connections} connections, `
    + `${options.warmupSeconds} s warm-up + ${options.durationSeconds} s per rate; ${machine.nproc} cores, ${machine.node}`);

  const printStep = (step: StepRecord): void => {
    process.stdout.write(`${JSON.stringify(step.line)}\n`);
    if (step.details.saturated) say(`${step.line.offeredPerSec}/s saturated: ${step.details.saturationReasons.join('; ')}`);
  };
  const ladder = ladderOptions(options, printStep);
  if (options.ladder) await ladderPart(options, ladder, printStep);

  if (options.httpRates.length > 0 || options.metricsUnderLinkRate > 0) {
    say('autocannon on the HTTP side');
    const http = await runHttpPhase({ authoriseRates: options.httpRates, seconds: options.httpSeconds,
      linkRatePerSec: options.metricsUnderLinkRate, metricsRatePerSec: options.metricsRate, link: ladder });
    writeJson(join(options.resultsDir, `http-${options.profile}.json`), {
      kind: 'http', profile: options.profile, smoke: options.smoke, recordedAt: new Date().toISOString(), machine,
      command: commandLine(options), connections: 8, seconds: options.httpSeconds, ...http,
    });
    for (const run of http.authorise) {
      say(`POST ${run.path} at ${run.offeredPerSec}/s: ${run.achievedPerSec}/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, non-2xx ${run.non2xx}`);
    }
    const scrape = http.metricsUnderLoad;
    if (scrape !== undefined) {
      say(`link at ${scrape.linkRatePerSec}/s: p99 ${scrape.linkWithoutScrape.p99Ms} ms alone, ${scrape.linkWithScrape.p99Ms} ms `
        + `while /metrics is scraped ${scrape.metricsRatePerSec}/s (scrape p99 ${scrape.metrics.p99Ms} ms)`);
    }
  }
  if (options.cpuProfileRate > 0) await cpuProfile(options, ladder);
  if (options.report) {
    const reportPath = writeBenchmarksReport({ resultsDir: options.resultsDir, docsDir: options.docsDir });
    say(`report: ${relative(process.cwd(), reportPath)}`);
  }
  if (options.smoke) say(`smoke run: everything was written to ${options.resultsDir}`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof GatewayStartError) {
      say(error.message);
      if (error.message.includes('(profile stack)')) {
        say('the full-stack benchmark needs Redis, etcd and Cassandra running (npm run services:up; check with '
          + 'npm run services:status) and the stack store backend assembled (src/store/stack-backend.ts); '
          + 'until then only `npm run bench` (embedded) can run');
      }
      process.exitCode = 2;
      return;
    }
    say(error instanceof Error ? error.stack ?? error.message : String(error));
    process.exitCode = 1;
  },
);
