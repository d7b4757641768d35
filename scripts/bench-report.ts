/**
 * Regenerates docs/benchmarks.md from the result files in bench/results/, so the document always
 * says what was measured, on which machine and with which command (pino and undici keep their
 * benchmark pages the same way). `npm run bench` calls it at the end; by hand:
 *
 *   node dist/scripts/bench-report.js [--results-dir bench/results] [--docs-dir docs]
 *
 * Reads load-<profile>.json, http-<profile>.json and profile-<profile>.json (bench/load.ts),
 * codec.json(l) and link.json(l) (the codec and link benchmarks' printed JSON lines, if saved),
 * docs/benchmarks-codec.md and docs/benchmarks-link.md (hand-written sections, included as they
 * are) and bench/results/notes.md (the reading of the figures, included as it is).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { verdicts, type LoadResults, type StepRecord } from '../bench/load/results';
import type { AutocannonResult } from '../bench/load/http-load';
import type { MetricsUnderLoad } from '../bench/load/http-phase';
import type { CpuProfileSummary } from '../bench/load/cpu-profile';

const PROFILES = ['embedded', 'stack'] as const;

interface HttpResults {
  kind: 'http';
  profile: string;
  smoke: boolean;
  recordedAt: string;
  machine?: { commit?: string };
  command: string;
  connections: number;
  seconds: number;
  authorise: AutocannonResult[];
  metricsUnderLoad: MetricsUnderLoad | undefined;
}

interface ProfileResults {
  kind: 'cpu-profile';
  profile: string;
  recordedAt: string;
  machine?: { commit?: string };
  command: string;
  ratePerSec: number;
  durationSeconds: number;
  line: StepRecord['line'];
  gatewayCpuMicrosPerRequest: number;
  summary: CpuProfileSummary;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Our own files, recognised by their `kind`; anything else is ignored rather than half-read. */
function readKind<T>(path: string, kind: string): T | undefined {
  if (!existsSync(path)) return undefined;
  const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
  return isRecord(value) && value['kind'] === kind ? (value as T) : undefined;
}

/** A file of JSON lines (or one JSON array) of flat records, as the codec and link benches print. */
function readRecords(resultsDir: string, name: string): Record<string, unknown>[] | undefined {
  for (const file of [`${name}.jsonl`, `${name}.json`]) {
    const path = join(resultsDir, file);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8').trim();
    if (text.startsWith('[')) {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) ? parsed.filter(isRecord) : undefined;
    }
    return text.split('\n').filter((line) => line.trim().startsWith('{')).map((line) => JSON.parse(line) as unknown).filter(isRecord);
  }
  return undefined;
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value).replace(/\|/g, '\\|');
  return String(value).replace(/\|/g, '\\|');
}

function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n');
}

function codes(byResponseCode: Record<string, number>): string {
  return Object.entries(byResponseCode).sort(([a], [b]) => a.localeCompare(b)).map(([code, count]) => `${code}: ${count}`).join(', ');
}

function loadSection(results: LoadResults | undefined, profile: string, docsDir: string, outDir: string): string {
  const title = profile === 'embedded' ? 'ISO 8583 load, embedded profile' : 'ISO 8583 load, full stack';
  const command = profile === 'embedded' ? 'npm run bench' : 'npm run bench:stack';
  if (results === undefined) {
    return `## ${title}\n\nNot measured yet: run \`${command}\`.`
      + (profile === 'stack' ? ' It needs `npm run services:up` and the stack store backend (src/store/stack-backend.ts); '
        + 'until that is assembled the command stops with a message saying so.' : '');
  }
  const { targets, settings } = results;
  const lines: string[] = [`## ${title}`, ''];
  if (results.smoke) lines.push('**Smoke run**: seconds long, to check the tooling end to end. No speed claim.', '');
  lines.push(`Recorded ${results.recordedAt} at commit ${results.machine.commit} with \`${results.command}\`: ${settings.connections} connections, `
    + `${settings.warmupSeconds} s warm-up and ${settings.durationSeconds} s measured per rate, each rate against a fresh gateway process.`, '');
  lines.push(`Target: at least ${targets.ratePerSec.toLocaleString('en-GB')} authorisations/s with p99 <= ${targets.p99Ms} ms`
    + (targets.noLateAtPerSec > 0 ? `; at ${targets.noLateAtPerSec.toLocaleString('en-GB')}/s, no response after the deadline.` : '.'), '');
  for (const verdict of verdicts(results.profile, results.steps)) lines.push(`- target ${verdict}`);
  const chart = join(docsDir, `benchmarks-load-${profile}.svg`);
  if (existsSync(chart)) lines.push('', `![Latency percentiles against offered rate, ${profile}](${relative(outDir, chart)})`);
  lines.push('', table(
    ['offered/s', 'achieved/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'late', 'errors', 'service p99 ms', 'send lag p99 ms',
      'gateway CPU µs/req', 'load avg', 'saturated'],
    results.steps.map(({ line, details }) => [line.offeredPerSec, line.achievedPerSec, line.p50Ms, line.p99Ms, line.p999Ms, line.maxMs,
      line.late, line.errors, details.serviceP99Ms, details.sendLagP99Ms, details.gatewayCpuMicrosPerRequest, details.loadAverage1m,
      details.saturated ? details.saturationReasons.join('; ') : 'no']),
  ));
  const stageNames = [...new Set(results.steps.flatMap((step) => Object.keys(step.details.gatewayStageP99Ms ?? {})))];
  lines.push('', 'The gateway\'s own p99 over the measured window, from its histograms (`gateway_authorisation_duration_seconds`, '
    + '`gateway_stage_duration_seconds`; bucket resolution): far below the generator\'s p99 means the time went before the gateway '
    + 'read the frame (queued in the kernel\'s socket buffer, a starved CPU), not inside it. On the embedded profile the decision log\'s disk write '
    + '(`gateway_decision_log_write_seconds`, timed in its writer thread) is the disk\'s part of the persist stage.', '');
  const grouped = results.steps.some((step) => (step.details.decisionsPerBatch ?? 0) > 0);
  const logWrites = results.steps.some((step) => step.details.decisionLogWriteP99Ms !== undefined);
  const services = results.steps.some((step) => step.details.servicesCpuMicrosPerRequest !== undefined);
  const serviceCpu = (details: StepRecord['details']): string => {
    const perRequest = details.servicesCpuMicrosPerRequest;
    if (perRequest === undefined) return '';
    return `${perRequest.cassandra ?? '-'} / ${perRequest.redis ?? '-'} / ${perRequest.etcd1 ?? '-'}`;
  };
  lines.push(table(['offered/s', 'generator p99 ms', 'gateway p99 ms', ...stageNames.map((stage) => `${stage} p99 ms`), 'stand-ins', 'shed',
    ...(logWrites ? ['decision log disk write p99 ms (batches)'] : []),
    ...(grouped ? ['decisions per Cassandra batch'] : []),
    ...(services ? ['Cassandra / Redis / etcd CPU µs/req'] : [])],
  results.steps.map(({ line, details }) => [line.offeredPerSec, line.p99Ms, details.gatewayP99Ms ?? '',
    ...stageNames.map((stage) => details.gatewayStageP99Ms?.[stage] ?? ''), details.gatewayStandIns,
    details.gatewayShed ?? '',
    ...(logWrites ? [`${details.decisionLogWriteP99Ms ?? ''} (${details.decisionLogWrites ?? ''})`] : []),
    ...(grouped ? [details.decisionsPerBatch ?? ''] : []),
    ...(services ? [serviceCpu(details)] : [])])));
  lines.push('', 'Response codes (DE 39) per step, and answers that differ from what the demo seed should give:', '');
  lines.push(table(['offered/s', 'byResponseCode', 'unexpected (expected>got)'],
    results.steps.map(({ line, details }) => [line.offeredPerSec, codes(line.byResponseCode),
      Object.keys(details.unexpected).length === 0 ? 'none' : codes(details.unexpected)])));
  return lines.join('\n');
}

function httpSection(http: HttpResults | undefined, profile: string): string | undefined {
  if (http === undefined) return undefined;
  const lines = [`### ${profile}`, ''];
  if (http.smoke) lines.push('**Smoke run**: no speed claim.', '');
  lines.push(`Recorded ${http.recordedAt} at commit ${http.machine?.commit ?? 'unknown'} with \`${http.command}\`; autocannon with -R (fixed rate, latency corrected for `
    + `coordinated omission), ${http.connections} connections, ${http.seconds} s per rate. autocannon reports whole milliseconds.`, '');
  if (http.authorise.length > 0) {
    lines.push(table(['request', 'offered/s', 'achieved/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'non-2xx', 'errors', 'timeouts'],
      http.authorise.map((run) => [`${run.method} ${run.path}`, run.offeredPerSec, run.achievedPerSec, run.p50Ms, run.p99Ms, run.p999Ms,
        run.maxMs, run.non2xx, run.errors, run.timeouts])));
  }
  const scrape = http.metricsUnderLoad;
  if (scrape !== undefined) {
    lines.push('', `GET /metrics at ${scrape.metricsRatePerSec}/s while the link carries ${scrape.linkRatePerSec} authorisations/s `
      + '(the same open-loop generator), and the link alone; each run on a fresh gateway:', '');
    lines.push(table(['run', 'link p50 ms', 'link p99 ms', 'link p99.9 ms', 'link max ms', 'late', 'errors', '/metrics p50 ms', '/metrics p99 ms', '/metrics non-2xx'], [
      ['link alone', scrape.linkWithoutScrape.p50Ms, scrape.linkWithoutScrape.p99Ms, scrape.linkWithoutScrape.p999Ms,
        scrape.linkWithoutScrape.maxMs, scrape.linkWithoutScrape.late, scrape.linkWithoutScrape.errors, '', '', ''],
      ['link + /metrics', scrape.linkWithScrape.p50Ms, scrape.linkWithScrape.p99Ms, scrape.linkWithScrape.p999Ms,
        scrape.linkWithScrape.maxMs, scrape.linkWithScrape.late, scrape.linkWithScrape.errors, scrape.metrics.p50Ms, scrape.metrics.p99Ms,
        scrape.metrics.non2xx],
    ]));
  }
  return lines.join('\n');
}

function profileSection(profile: ProfileResults | undefined): string | undefined {
  if (profile === undefined) return undefined;
  const { summary } = profile;
  return [
    `### ${profile.profile} at ${profile.ratePerSec}/s`, '',
    `Recorded ${profile.recordedAt} at commit ${profile.machine?.commit ?? 'unknown'} with \`${profile.command}\` (the gateway ran with \`node --cpu-prof\`); that step measured `
      + `p99 ${profile.line.p99Ms} ms, ${profile.line.achievedPerSec}/s achieved, ${profile.gatewayCpuMicrosPerRequest} µs of gateway CPU `
      + `per request. ${summary.busyMs} ms busy of ${summary.sampledMs} ms sampled.`, '',
    'Self time by area:', '',
    table(['area', 'self ms', 'share of busy time'], summary.byArea.slice(0, 12).map((area) => [area.area, area.selfMs, `${area.selfPercent} %`])),
    '', 'Functions with the most self time:', '',
    table(['function', 'where', 'self ms', 'share'], summary.topFrames.slice(0, 20).map((frame) =>
      [frame.functionName, frame.location, frame.selfMs, `${frame.selfPercent} %`])),
    '', 'Our functions by total time (self plus what they call):', '',
    table(['function', 'where', 'total ms', 'share'], (summary.topInclusive ?? []).slice(0, 20).map((frame) =>
      [frame.functionName, frame.location, frame.selfMs, `${frame.selfPercent} %`])),
  ].join('\n');
}

function externalSection(name: string, resultsDir: string, docsDir: string, command: string): string {
  const handWritten = join(docsDir, `benchmarks-${name}.md`);
  if (existsSync(handWritten)) return readFileSync(handWritten, 'utf8').trim();
  const records = readRecords(resultsDir, name);
  const title = `## ${name === 'codec' ? 'Codec' : 'Link'} (\`${command}\`)`;
  if (records === undefined || records.length === 0) {
    // The area's own document may carry its figures meanwhile (docs/codec.md does).
    const ownDocName = name === 'link' ? 'network-link.md' : `${name}.md`;
    const pointer = existsSync(join(docsDir, ownDocName)) ? ` Until then, see [${ownDocName}](${ownDocName}) for its figures.` : '';
    return `${title}\n\nNo results recorded in bench/results/${name}.jsonl yet: save the JSON lines \`${command}\` prints there `
      + `(\`${command} > bench/results/${name}.jsonl\`).${pointer}`;
  }
  const header = [...new Set(records.flatMap((record) => Object.keys(record)))];
  return `${title}\n\nFrom bench/results/${name}.jsonl.\n\n${table(header, records.map((record) => header.map((key) => record[key])))}`;
}

export interface ReportOptions {
  resultsDir: string;
  docsDir: string;
  /** Default: benchmarks.md in docsDir. */
  outPath?: string;
}

/** Writes the report; returns its path. */
export function writeBenchmarksReport(options: ReportOptions): string {
  const outPath = options.outPath ?? join(options.docsDir, 'benchmarks.md');
  const outDir = resolve(outPath, '..');
  const loads = PROFILES.map((profile) => readKind<LoadResults>(join(options.resultsDir, `load-${profile}.json`), 'load-ladder'));
  const https = PROFILES.map((profile) => readKind<HttpResults>(join(options.resultsDir, `http-${profile}.json`), 'http'));
  const cpu = PROFILES.map((profile) => readKind<ProfileResults>(join(options.resultsDir, `profile-${profile}.json`), 'cpu-profile'));
  const newest = loads.filter((load): load is LoadResults => load !== undefined)
    .sort((a, b) => b.recordedAt.localeCompare(a.recordedAt))[0];
  const sections: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by scripts/bench-report.ts from bench/results/ (npm run bench runs it). Edit bench/results/notes.md or '
      + 'docs/benchmarks-{codec,link}.md instead of this file. -->',
    '',
    'Every figure below comes from a result file in bench/results/ and names the command that produced it. The machine is '
      + 'shared: the gateway, the load generator (and, for the stack, Redis, etcd and Cassandra) run on the same cores, so the '
      + 'load average column says how quiet it was.',
    '',
    '## Machine',
    '',
    newest === undefined ? 'No load results recorded yet.' : table(['nproc', 'CPU', 'memory', 'Node', 'OS'],
      [[newest.machine.nproc, newest.machine.cpuModel, `${newest.machine.memoryGiB} GiB`, newest.machine.node, newest.machine.os]]),
    '',
    '## Commands',
    '',
    '```bash',
    'npm run bench                                  # embedded: rate ladder to saturation, autocannon, report',
    'npm run bench:stack                            # the same on Redis, etcd and Cassandra (npm run services:up first;',
    '                                               # a node started under 10 min ago is first warmed 60 s at 500/s)',
    'npm run bench -- --smoke                       # seconds; what CI runs (test/bench/load-smoke.test.ts)',
    'npm run bench -- --rates 20000 --seconds 30 --http-rates "" --metrics-under-rate 0   # one rate, longer',
    'npm run bench -- --rates 5000 --http-rates "" --metrics-under-rate 0 --cpu-profile-rate 5000   # with a CPU profile',
    'node dist/scripts/bench-report.js              # regenerate this page from bench/results/',
    'npm run bench:codec; npm run bench:link        # codec and link micro-benchmarks',
    'npm run bench:ledger                           # the embedded ledger alone: worst single operation as its tables grow',
    'npm run bench:disk                             # O_DSYNC write time: appending against overwriting zero-filled blocks',
    'npm run bench:log                              # one stand-in warn line, with and without the redaction paths',
    '```',
    '',
    '## Method',
    '',
    '- **Open loop.** Request *i* is due at start + *i* / rate and its latency is measured from that scheduled time to its '
      + 'response, so a stall (in the gateway or in the generator) is counted for every request it delays: no coordinated '
      + 'omission (wrk2\'s method). Latencies go into HdrHistograms (hdr-histogram-js, 3 significant digits, microseconds).',
    '- **Over the real link.** Frames are built with the project\'s codec (ascii dialect, 2-byte length) and sent over several '
      + 'TCP connections after an 0800 sign-on; each connection\'s due frames go out in one write about every millisecond. '
      + '"service p99" is measured from the actual send instead; "send lag" is how late the generator sent, which is large '
      + 'only when the generator itself is short of CPU.',
    '- **A fresh gateway per rate**: `node dist/src/main.js` as its own process with a temporary decision log; the warm-up '
      + 'is sent but not recorded. "late" counts responses after the 50 ms budget; "errors" counts requests with no response '
      + 'within 5 s after the last send. A rate is saturated when fewer than 95 % are answered within the window, p99 exceeds '
      + 'the budget, or over 1 % go unanswered; the ladder stops there.',
    '- **Warm services (stack)**: when the Cassandra node started less than 10 minutes before the ladder, `bench:stack` first '
      + 'drives it for 60 s at 500/s, unmeasured (`--services-warmup-seconds`, `--services-warmup-rate`, '
      + '`--services-fresh-minutes`): a node that has just started is still compiling its hot paths, and the first 1,000/s runs '
      + 'after a fresh start had hundreds to thousands late where later ones had none. The results file records what ran '
      + '(`settings.servicesWarmup`).',
    '- **Mix** (demo cards, config/demo-seed.yaml): 62 approvals, declines for funds (51), lost (41), stolen (43), frozen (62), '
      + 'gambling block (57), expired (54) and unknown card (14), 12 full reversals of earlier approvals (0400, DE 90) and 9 '
      + 'retransmissions (the same bytes as an earlier request on another connection), per 100 requests. The benchmark lifts '
      + 'the demo cards\' daily and monthly spend limits, which would otherwise turn approvals into 61 within seconds.',
    '',
    loadSection(loads[0], 'embedded', options.docsDir, outDir),
    '',
    loadSection(loads[1], 'stack', options.docsDir, outDir),
  ];
  const httpParts = PROFILES.map((profile, index) => httpSection(https[index], profile)).filter((part): part is string => part !== undefined);
  sections.push('', '## HTTP side (autocannon)', '', httpParts.length > 0 ? httpParts.join('\n\n') : 'Not measured yet.');
  const profileParts = cpu.map(profileSection).filter((part): part is string => part !== undefined);
  if (profileParts.length > 0) sections.push('', '## CPU profile of the gateway', '', profileParts.join('\n\n'));
  const notes = join(options.resultsDir, 'notes.md');
  if (existsSync(notes)) sections.push('', readFileSync(notes, 'utf8').trim());
  sections.push('', externalSection('codec', options.resultsDir, options.docsDir, 'npm run bench:codec'));
  sections.push('', externalSection('link', options.resultsDir, options.docsDir, 'npm run bench:link'));
  writeFileSync(outPath, `${sections.join('\n')}\n`);
  return outPath;
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

if (require.main === module) {
  const repo = resolve(__dirname, '..', '..');
  const path = writeBenchmarksReport({
    resultsDir: argument('--results-dir') ?? join(repo, 'bench', 'results'),
    docsDir: argument('--docs-dir') ?? join(repo, 'docs'),
  });
  process.stdout.write(`wrote ${path}\n`);
}
