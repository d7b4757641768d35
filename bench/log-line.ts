/**
 * `npm run bench:log`: the cost of one warn line as the acceptor writes it at a stand-in (the
 * gateway's pino options, to /dev/null through the same asynchronous destination), with the
 * gateway's redaction paths and without them. At saturation every late decision writes one, so
 * this is part of what overload costs (bench/results/notes.md, sixth session).
 *
 *   npm run bench:log -- [--lines 200000] [--rounds 3]
 *
 * One JSON line per round and variant: {"redaction","lines","microsPerLine"}.
 */
import { openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { redactedLogPaths } from '../src/log/logger';

export interface LogLineResult {
  redaction: boolean;
  lines: number;
  microsPerLine: number;
}

export function timeStandInLines(lines: number, redaction: boolean): LogLineResult {
  // An fd opened here: the destination is ready at once (a path would be opened asynchronously).
  const fd = openSync('/dev/null', 'w');
  const destination = pino.destination({ dest: fd, sync: false, minLength: 4096 });
  const logger = pino({
    level: 'info', base: { service: 'authorisation-gateway', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) },
    ...(redaction ? { redact: { paths: [...redactedLogPaths], censor: '[redacted]' } } : {}),
  }, destination).child({ part: 'acceptor' });
  const started = performance.now();
  for (let line = 0; line < lines; line++) {
    logger.warn({ mti: '0100', stan: '000123', rrn: '633012000123', responseCode: '91', budgetMs: 50 },
      'deadline reached: answered by stand-in policy');
  }
  const microsPerLine = ((performance.now() - started) * 1000) / lines;
  destination.flushSync();
  // Closes the descriptor once sonic-boom has nothing left in flight.
  destination.end();
  return { redaction, lines, microsPerLine: Math.round(microsPerLine * 100) / 100 };
}

function main(): void {
  const { values } = parseArgs({ options: { lines: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '3' } } });
  const lines = Number(values.lines);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(lines) || lines < 1 || !Number.isInteger(rounds) || rounds < 1) throw new Error('--lines and --rounds: positive integers');
  for (let round = 0; round < rounds; round++) {
    for (const redaction of [true, false]) process.stdout.write(`${JSON.stringify(timeStandInLines(lines, redaction))}\n`);
  }
}

if (require.main === module) main();
