/**
 * The HTTP side under autocannon at fixed rates (-R, so its latency is corrected for coordinated
 * omission; reliability-notes §6): POST /v1/authorise, and GET /metrics while the ISO 8583 link
 * carries open-loop load, to see what a scrape costs the link's latency.
 *
 * autocannon runs as its own process (its CLI with --json), like the gateway: three event loops
 * on two cores, none of them measuring from inside another.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoDir } from './gateway-process';

export interface AutocannonRun {
  url: string;
  method: 'GET' | 'POST';
  ratePerSec: number;
  durationSec: number;
  connections: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface AutocannonResult {
  path: string;
  method: string;
  offeredPerSec: number;
  achievedPerSec: number;
  /** autocannon reports whole milliseconds. */
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberAt(record: Record<string, unknown>, key: string): number {
  const value = record[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** Reads autocannon's --json report; throws naming what is missing. */
export function parseAutocannonReport(text: string, run: AutocannonRun): AutocannonResult {
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch {
    throw new Error(`autocannon printed no JSON report: ${text.slice(0, 200)}`);
  }
  if (!isRecord(report) || !isRecord(report['latency']) || !isRecord(report['requests'])) {
    throw new Error('autocannon report lacks latency or requests');
  }
  const latency = report['latency'];
  const requests = report['requests'];
  const duration = numberAt(report, 'duration');
  return {
    path: new URL(run.url).pathname,
    method: run.method,
    offeredPerSec: run.ratePerSec,
    achievedPerSec: duration > 0 ? Math.round(numberAt(requests, 'total') / duration) : 0,
    p50Ms: numberAt(latency, 'p50'),
    p99Ms: numberAt(latency, 'p99'),
    p999Ms: numberAt(latency, 'p99_9'),
    maxMs: numberAt(latency, 'max'),
    requests: numberAt(requests, 'total'),
    non2xx: numberAt(report, 'non2xx'),
    errors: numberAt(report, 'errors'),
    timeouts: numberAt(report, 'timeouts'),
  };
}

export function runAutocannon(run: AutocannonRun): Promise<AutocannonResult> {
  const binary = join(repoDir(), 'node_modules', 'autocannon', 'autocannon.js');
  const args = [binary, '--json', '-R', String(run.ratePerSec), '-d', String(run.durationSec),
    '-c', String(run.connections), '-m', run.method];
  for (const [name, value] of Object.entries(run.headers ?? {})) args.push('-H', `${name}=${value}`);
  if (run.body !== undefined) args.push('-b', run.body);
  args.push(run.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`autocannon exited with ${code}: ${Buffer.concat(stderr).toString('utf8').slice(-400)}`));
        return;
      }
      try {
        resolve(parseAutocannonReport(Buffer.concat(stdout).toString('utf8'), run));
      } catch (error) {
        reject(error);
      }
    });
  });
}
