/**
 * Shared pieces of the network-link tests: start links on 127.0.0.1 with a captured log and a
 * private metrics registry, connect a simulated scheme peer, test acceptors, and bounded waits.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { IsoMessage, loadDialect, type Dialect } from '../../src/iso8583';
import {
  framingFor, LinkExchange, SchemeRequestHandler, startLinks, validateLinkConfig, type FramingKind,
  type LinkSupervisor,
} from '../../src/network-link';
import { responseMtiFor } from '../../src/network-link/message-types';
import { SchemePeer } from '../../src/simulator/scheme-peer';
import { transmissionDateTime } from '../../src/simulator/traffic';

export const REPO_DIR = resolve(__dirname, '..', '..', '..');
export const dialect: Dialect = loadDialect('ascii');

/** Collects log lines so tests can assert on them (e.g. that no PAN appears in clear). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((line) => line.length > 0));
    done();
  }

  text(): string {
    return this.lines.join('\n');
  }
}

/** Fields a test acceptor echoes on its responses. */
const ECHOED = [3, 4, 7, 11, 37, 41, 42, 49];

export function approvalFor(request: IsoMessage, responseCode = '00'): IsoMessage {
  const response = new IsoMessage(responseMtiFor(request.mti));
  for (const de of ECHOED) {
    const value = request.getString(de);
    if (value !== undefined) response.set(de, value);
  }
  return response.set(39, responseCode);
}

/** Answers at once: approves, or declines 51 above 10,000.00 minor units, like a toy issuer. */
export class ApprovingAcceptor implements SchemeRequestHandler {
  handled = 0;
  readonly arrivals: number[] = [];

  handleRequest(request: IsoMessage, exchange: LinkExchange): void {
    this.handled += 1;
    this.arrivals.push(exchange.arrivalMs);
    const amount = Number(request.getString(4) ?? '0');
    exchange.respond(approvalFor(request, amount > 1_000_000 ? '51' : '00'));
  }
}

/** Holds every exchange until the test answers it. */
export class HoldingAcceptor implements SchemeRequestHandler {
  readonly exchanges: LinkExchange[] = [];

  handleRequest(_request: IsoMessage, exchange: LinkExchange): void {
    this.exchanges.push(exchange);
  }

  respondAll(): void {
    for (const exchange of this.exchanges.splice(0)) exchange.respond(approvalFor(exchange.request));
  }
}

export interface RunningLinks {
  supervisor: LinkSupervisor;
  registry: Registry;
  log: LogCapture;
  logger: Logger;
  port: number;
  stop(): Promise<void>;
}

/** Starts links from raw config entries (defaults filled by the real validator). */
export async function startTestLinks(entries: Record<string, unknown>[], handler: SchemeRequestHandler): Promise<RunningLinks> {
  const log = new LogCapture();
  const logger = pino({ level: 'debug' }, log);
  const registry = new Registry();
  const configs = entries.map((entry, index) => validateLinkConfig({ host: '127.0.0.1', port: 0, ...entry }, `links[${index}]`));
  const supervisor = await startLinks(configs, { handler, registry, logger });
  const first = supervisor.statuses()[0]!;
  return {
    supervisor, registry, log, logger,
    port: first.listening?.port ?? 0,
    stop: () => supervisor.drain(500),
  };
}

export function serverLink(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'scheme', mode: 'server', ...extra };
}

export interface PeerOptions {
  framing?: FramingKind;
  headerBytes?: number;
  tls?: ConnectionOptions;
}

export function dialSocket(port: number, tls?: ConnectionOptions): Promise<Socket> {
  return new Promise((resolvePromise, reject) => {
    const socket = tls === undefined
      ? connectTcp({ host: '127.0.0.1', port })
      : connectTls({ host: '127.0.0.1', port, ...tls });
    socket.once('error', reject);
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      socket.off('error', reject);
      resolvePromise(socket);
    });
  });
}

export function peerOn(socket: Socket, options: PeerOptions = {}): SchemePeer {
  return new SchemePeer(socket, {
    dialect,
    framing: framingFor(options.framing ?? 'binary2'),
    headerBytes: options.headerBytes ?? 0,
    frameBytesMax: 8192,
  });
}

export async function connectPeer(port: number, options: PeerOptions = {}): Promise<SchemePeer> {
  return peerOn(await dialSocket(port, options.tls), options);
}

let stan = 500_000;
export function nextStan(): string {
  stan = stan >= 999_999 ? 500_000 : stan + 1;
  return String(stan).padStart(6, '0');
}

export function networkRequest(code: string): IsoMessage {
  return new IsoMessage('0800').set(7, transmissionDateTime(new Date())).set(11, nextStan()).set(70, code);
}

/** A test authorisation; the PAN is a public test number. */
export function authorisation(amountMinor = 1234, pan = '4111111111111111'): IsoMessage {
  const requestStan = nextStan();
  return new IsoMessage('0100')
    .set(2, pan)
    .set(3, '000000')
    .set(4, String(amountMinor).padStart(12, '0'))
    .set(7, transmissionDateTime(new Date()))
    .set(11, requestStan)
    .set(37, `6330${requestStan}00`)
    .set(41, 'TERM0001')
    .set(49, '978');
}

export async function signOn(peer: SchemePeer): Promise<void> {
  const response = await peer.requestOnce(networkRequest('001'), 2000);
  if (response?.getString(39) !== '00') throw new Error('sign-on not approved');
}

/** Polls until the condition holds; fails the test after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 5));
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolveDelay) => setTimeout(resolveDelay, ms));
}

/** Value of one metric series from the registry, 0 when absent. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metrics = await registry.getMetricsAsJSON();
  const metric = metrics.find((entry) => entry.name === name);
  const series = (metric?.values ?? []).find((value) =>
    Object.entries(labels).every(([key, expected]) => String((value.labels as Record<string, unknown>)[key]) === expected));
  return series === undefined ? 0 : Number(series.value);
}

export interface TlsFiles {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCert: string;
  rogueKey: string;
}

let tlsFiles: TlsFiles | undefined;

/** Fresh test-only certificates from test/fixtures/tls/generate.sh, made once per test process. */
export function testTlsFiles(): TlsFiles {
  if (tlsFiles !== undefined) return tlsFiles;
  const dir = mkdtempSync(join(tmpdir(), 'link-tls-'));
  execFileSync('bash', [join(REPO_DIR, 'test', 'fixtures', 'tls', 'generate.sh'), dir], { stdio: 'pipe', timeout: 30_000 });
  const path = (name: string): string => {
    const file = join(dir, name);
    if (!existsSync(file)) throw new Error(`generate.sh did not make ${name}`);
    return file;
  };
  tlsFiles = {
    dir,
    ca: path('ca.pem'),
    serverCert: path('server.pem'),
    serverKey: path('server-key.pem'),
    clientCert: path('client.pem'),
    clientKey: path('client-key.pem'),
    rogueCert: path('rogue.pem'),
    rogueKey: path('rogue-key.pem'),
  };
  return tlsFiles;
}
