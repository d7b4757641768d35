/**
 * `npm run simulate`: plays the card scheme against a running gateway and prints what came back.
 * Run with --help for the flags. Exit code 0 when every request got a matching response.
 */
import { parseArgs } from 'node:util';
import { FRAMING_KINDS, isFramingKind } from '../network-link/framing';
import { runSimulation, simulationDefaults, type SimulationOptions, type SimulationReport } from './simulation';
import { Card, DEFAULT_CARDS, TrafficMix } from './traffic';

const HELP = `Scheme simulator: plays the card scheme against the gateway's network link.

  npm run simulate -- [flags]

  --mode connect|listen     connect: dial the gateway (server-mode link, default);
                            listen: wait for a client-mode link to dial us
  --host HOST               default ${simulationDefaults.host}
  --port PORT               default ${simulationDefaults.port}
  --dialect NAME            config/dialects/NAME.json, default ${simulationDefaults.dialect}
  --framing KIND            ${FRAMING_KINDS.join(' | ')}, default ${simulationDefaults.framing}
  --header-bytes N          fixed header bytes before the MTI, default 0
  --count N                 financial requests to send, default ${simulationDefaults.count}
  --concurrency N           requests outstanding at once (closed loop), default ${simulationDefaults.concurrency}
  --rate N                  open loop: N requests a second instead of --concurrency
  --mix A,R,V               weights of authorisations (0100), reversals (0400) and
                            advices (0120), default ${simulationDefaults.mix.authorisation},${simulationDefaults.mix.reversal},${simulationDefaults.mix.advice}
  --cards PAN[:YYMM],...    cards to use, default the demo cards of config/demo-seed.yaml
                            ${DEFAULT_CARDS.map((card) => card.pan).join(', ')}
  --amount-min N --amount-max N   amount range in minor units, default ${simulationDefaults.amountMinorMin}..${simulationDefaults.amountMinorMax}
  --echoes N                echo tests (0800/301) before the traffic, default ${simulationDefaults.echoes}
  --no-sign-on              skip the 0800 sign-on and sign-off (connect mode)
  --timeout-ms N            wait per response, default ${simulationDefaults.responseTimeoutMs}
  --seed N                  seed of the traffic's random choices, default ${simulationDefaults.seed}
  --tls-ca FILE --tls-cert FILE --tls-key FILE --tls-servername NAME
                            dial with TLS (and a client certificate for mutual TLS)
  --json                    print the report as one JSON line
`;

function integer(value: string | undefined, flag: string, fallback: number, minimum = 0): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < minimum) throw new Error(`--${flag} must be an integer >= ${minimum}`);
  return parsed;
}

function parseMix(value: string | undefined): TrafficMix {
  if (value === undefined) return simulationDefaults.mix;
  const weights = value.split(',').map(Number);
  if (weights.length !== 3 || weights.some((weight) => !Number.isFinite(weight) || weight < 0)) {
    throw new Error('--mix takes three weights: authorisations,reversals,advices');
  }
  return { authorisation: weights[0]!, reversal: weights[1]!, advice: weights[2]! };
}

function parseCards(value: string | undefined): readonly Card[] {
  if (value === undefined) return simulationDefaults.cards;
  return value.split(',').map((entry) => {
    const [pan, expiry] = entry.split(':');
    if (pan === undefined || !/^[0-9]{12,19}$/.test(pan)) throw new Error('--cards: a PAN is 12 to 19 digits');
    if (expiry !== undefined && !/^[0-9]{4}$/.test(expiry)) throw new Error('--cards: an expiry is YYMM');
    return { pan, expiry: expiry ?? '2912' };
  });
}

export function parseSimulatorArgs(argv: readonly string[]): { options: Partial<SimulationOptions>; json: boolean } | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      mode: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, dialect: { type: 'string' },
      framing: { type: 'string' }, 'header-bytes': { type: 'string' }, count: { type: 'string' },
      concurrency: { type: 'string' }, rate: { type: 'string' }, mix: { type: 'string' }, cards: { type: 'string' },
      'amount-min': { type: 'string' }, 'amount-max': { type: 'string' }, echoes: { type: 'string' },
      'no-sign-on': { type: 'boolean' }, 'timeout-ms': { type: 'string' }, seed: { type: 'string' },
      'tls-ca': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
      'tls-servername': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  const d = simulationDefaults;
  const mode = values.mode ?? d.mode;
  if (mode !== 'connect' && mode !== 'listen') throw new Error('--mode is connect or listen');
  const framing = values.framing ?? d.framing;
  if (!isFramingKind(framing)) throw new Error(`--framing is one of ${FRAMING_KINDS.join(', ')}`);
  const useTls = [values['tls-ca'], values['tls-cert'], values['tls-key']].some((value) => value !== undefined);
  const options: Partial<SimulationOptions> = {
    mode,
    host: values.host ?? d.host,
    port: integer(values.port, 'port', d.port, 1),
    dialect: values.dialect ?? d.dialect,
    framing,
    headerBytes: integer(values['header-bytes'], 'header-bytes', d.headerBytes),
    count: integer(values.count, 'count', d.count),
    concurrency: integer(values.concurrency, 'concurrency', d.concurrency, 1),
    ratePerSecond: integer(values.rate, 'rate', d.ratePerSecond),
    mix: parseMix(values.mix),
    cards: parseCards(values.cards),
    amountMinorMin: integer(values['amount-min'], 'amount-min', d.amountMinorMin),
    amountMinorMax: integer(values['amount-max'], 'amount-max', d.amountMinorMax),
    echoes: integer(values.echoes, 'echoes', d.echoes),
    signOn: values['no-sign-on'] !== true,
    responseTimeoutMs: integer(values['timeout-ms'], 'timeout-ms', d.responseTimeoutMs, 1),
    seed: integer(values.seed, 'seed', d.seed),
    tls: useTls
      ? { caPath: values['tls-ca'] ?? null, certPath: values['tls-cert'] ?? null, keyPath: values['tls-key'] ?? null,
        serverName: values['tls-servername'] ?? null }
      : null,
  };
  if (options.amountMinorMax! < options.amountMinorMin!) throw new Error('--amount-max is below --amount-min');
  return { options, json: values.json === true };
}

function formatCounts(record: Record<string, number>): string {
  const entries = Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? 'none' : entries.map(([key, count]) => `${key} x${count}`).join(', ');
}

export function formatReport(report: SimulationReport): string {
  const lines = [
    `sign-on: ${report.signOn}; echoes answered: ${report.echoesAnswered}/${report.echoesSent}`,
    `sent: ${formatCounts(report.sent)}`,
    'responses by DE 39:',
    ...Object.entries(report.responseCodes).sort(([a], [b]) => a.localeCompare(b))
      .map(([mti, codes]) => `  ${mti}: ${formatCounts(codes)}`),
    `timeouts: ${report.timeouts}; mismatches: ${report.mismatches}; unmatched responses: ${report.unmatchedResponses}`,
  ];
  if (report.mismatches > 0) lines.push(`mismatch reasons: ${formatCounts(report.mismatchReasons)}`);
  lines.push(`latency ms: p50 ${report.latencyMs.p50.toFixed(2)}, p99 ${report.latencyMs.p99.toFixed(2)}, max ${report.latencyMs.max.toFixed(2)}`);
  lines.push(`gateway network requests answered: ${formatCounts(report.gatewayNetworkRequests)}`);
  lines.push(`duration: ${(report.durationMs / 1000).toFixed(2)} s`);
  return lines.join('\n');
}

/** A run passes when sign-on (if any) was approved and every request got a matching response. */
export function reportPassed(report: SimulationReport): boolean {
  return (report.signOn === 'approved' || report.signOn === 'skipped') && report.timeouts === 0 && report.mismatches === 0;
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseSimulatorArgs>;
  try {
    parsed = parseSimulatorArgs(process.argv.slice(2));
  } catch (error: unknown) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const { options, json } = parsed;
  if (!json) {
    process.stdout.write(`scheme simulator: ${options.mode} ${options.host}:${options.port} `
      + `(framing ${options.framing}, dialect ${options.dialect}${options.tls === null ? '' : ', TLS'})\n`);
  }
  const report = await runSimulation(options);
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
  process.exitCode = reportPassed(report) ? 0 : 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`simulator failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
