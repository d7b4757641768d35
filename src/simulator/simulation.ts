/**
 * One simulator run: reach the gateway (dial it, or accept its dial), sign on, echo, send the
 * financial traffic, check every response against its request, sign off, report.
 */
import { readFileSync } from 'node:fs';
import { connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { loadDialect, IsoMessage, type Dialect } from '../iso8583';
import { framingFor, type FramingKind } from '../network-link/framing';
import { responseMismatches } from './response-check';
import { SchemePeer } from './scheme-peer';
import { Card, DEFAULT_CARDS, DEFAULT_MIX, RequestKind, seededRandom, TrafficGenerator, TrafficMix, transmissionDateTime } from './traffic';

export interface SimulatorTls {
  caPath: string | null;
  certPath: string | null;
  keyPath: string | null;
  serverName: string | null;
}

export interface SimulationOptions {
  /** connect: dial the gateway (a server-mode link). listen: accept the gateway (a client-mode link). */
  mode: 'connect' | 'listen';
  host: string;
  port: number;
  dialect: string;
  dialectDir?: string;
  framing: FramingKind;
  headerBytes: number;
  frameBytesMax: number;
  /** Client-side TLS in connect mode (listen mode is plain TCP). */
  tls: SimulatorTls | null;
  /** Sign on before traffic (connect mode) and sign off after it. */
  signOn: boolean;
  echoes: number;
  /** Financial requests to send. */
  count: number;
  /** Closed loop: requests outstanding at once. */
  concurrency: number;
  /** Open loop when above 0: requests per second, latency timed from each scheduled send. */
  ratePerSecond: number;
  mix: TrafficMix;
  cards: readonly Card[];
  amountMinorMin: number;
  amountMinorMax: number;
  seed: number;
  responseTimeoutMs: number;
  connectTimeoutMs: number;
}

export const simulationDefaults: SimulationOptions = {
  mode: 'connect',
  host: '127.0.0.1',
  port: 8583,
  dialect: 'ascii',
  framing: 'binary2',
  headerBytes: 0,
  frameBytesMax: 8192,
  tls: null,
  signOn: true,
  echoes: 1,
  count: 40,
  concurrency: 4,
  ratePerSecond: 0,
  mix: DEFAULT_MIX,
  cards: DEFAULT_CARDS,
  amountMinorMin: 100,
  amountMinorMax: 25_000,
  seed: 8583,
  responseTimeoutMs: 5_000,
  connectTimeoutMs: 10_000,
};

export interface SimulationReport {
  /** approved, the DE 39 of a refusal, timeout, or skipped. */
  signOn: string;
  echoesSent: number;
  echoesAnswered: number;
  /** Requests sent by MTI. */
  sent: Record<string, number>;
  /** Responses by request MTI, then by DE 39. */
  responseCodes: Record<string, Record<string, number>>;
  timeouts: number;
  mismatches: number;
  mismatchReasons: Record<string, number>;
  unmatchedResponses: number;
  latencyMs: { p50: number; p99: number; max: number };
  durationMs: number;
  /** 0800s the gateway sent us, by DE 70 code. */
  gatewayNetworkRequests: Record<string, number>;
}

function tallyUp(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

function dialTls(options: SimulationOptions, tls: SimulatorTls): Socket {
  const connection: ConnectionOptions = { host: options.host, port: options.port, rejectUnauthorized: true };
  if (tls.caPath !== null) connection.ca = readFileSync(tls.caPath);
  if (tls.certPath !== null) connection.cert = readFileSync(tls.certPath);
  if (tls.keyPath !== null) connection.key = readFileSync(tls.keyPath);
  if (tls.serverName !== null) connection.servername = tls.serverName;
  return connectTls(connection);
}

function dial(options: SimulationOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = options.tls === null
      ? connectTcp({ host: options.host, port: options.port })
      : dialTls(options, options.tls);
    const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), options.connectTimeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once(options.tls === null ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

function acceptOne(options: SimulationOptions): Promise<{ socket: Socket; server: Server }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    const timer = setTimeout(() => {
      server.close();
      reject(new Error(`no gateway connected to ${options.host}:${options.port} within ${options.connectTimeoutMs} ms`));
    }, options.connectTimeoutMs);
    server.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    server.once('connection', (socket: Socket) => {
      clearTimeout(timer);
      // One gateway connection per run; later ones are refused.
      server.on('connection', (extra: Socket) => extra.destroy());
      resolve({ socket, server });
    });
    server.listen(options.port, options.host);
  });
}

function networkRequest(code: string, stan: string): IsoMessage {
  return new IsoMessage('0800').set(7, transmissionDateTime(new Date())).set(11, stan).set(70, code);
}

export async function runSimulation(input: Partial<SimulationOptions>, dialectOverride?: Dialect): Promise<SimulationReport> {
  const options: SimulationOptions = { ...simulationDefaults, ...input };
  const dialect = dialectOverride ?? loadDialect(options.dialect, options.dialectDir);
  const started = performance.now();
  let server: Server | null = null;
  let socket: Socket;
  if (options.mode === 'connect') {
    socket = await dial(options);
  } else {
    ({ socket, server } = await acceptOne(options));
  }
  const peer = new SchemePeer(socket, {
    dialect, framing: framingFor(options.framing), headerBytes: options.headerBytes, frameBytesMax: options.frameBytesMax,
  });
  const traffic = new TrafficGenerator({
    cards: options.cards, mix: options.mix, amountMinorMin: options.amountMinorMin,
    amountMinorMax: options.amountMinorMax, random: seededRandom(options.seed),
  });
  const report: SimulationReport = {
    signOn: 'skipped', echoesSent: 0, echoesAnswered: 0, sent: {}, responseCodes: {}, timeouts: 0, mismatches: 0,
    mismatchReasons: {}, unmatchedResponses: 0, latencyMs: { p50: 0, p99: 0, max: 0 }, durationMs: 0,
    gatewayNetworkRequests: {},
  };
  try {
    if (options.mode === 'listen') {
      await withTimeout(peer.whenGatewaySignedOn(), options.connectTimeoutMs, 'the gateway did not sign on');
    } else if (options.signOn) {
      const response = await peer.requestOnce(networkRequest('001', traffic.nextStan()), options.responseTimeoutMs);
      report.signOn = response === undefined ? 'timeout' : response.getString(39) === '00' ? 'approved' : (response.getString(39) ?? '??');
    }
    for (let echo = 0; echo < options.echoes; echo++) {
      report.echoesSent += 1;
      const response = await peer.requestOnce(networkRequest('301', traffic.nextStan()), options.responseTimeoutMs);
      if (response?.getString(39) === '00') report.echoesAnswered += 1;
    }
    const latencies = await sendTraffic(peer, traffic, options, report);
    latencies.sort();
    report.latencyMs = { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: percentile(latencies, 1) };
    if (options.mode === 'connect' && options.signOn && peer.isOpen) {
      await peer.requestOnce(networkRequest('002', traffic.nextStan()), options.responseTimeoutMs);
    }
  } finally {
    report.unmatchedResponses = peer.counts.unmatchedResponses;
    report.gatewayNetworkRequests = { ...peer.counts.networkRequestsAnswered };
    await peer.close();
    if (server !== null) await new Promise<void>((resolve) => server!.close(() => resolve()));
    report.durationMs = performance.now() - started;
  }
  return report;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Sends `count` requests, closed loop or at a fixed rate, and resolves with their latencies. */
function sendTraffic(peer: SchemePeer, traffic: TrafficGenerator, options: SimulationOptions, report: SimulationReport): Promise<Float64Array> {
  const latencies = new Float64Array(options.count);
  let measured = 0;
  let settled = 0;
  let sent = 0;
  let done = false;
  return new Promise((resolve) => {
    const finish = (): void => {
      if (done) return;
      done = true;
      resolve(latencies.subarray(0, measured));
    };
    if (options.count === 0) {
      finish();
      return;
    }
    // A lost connection ends the run: whatever was never sent counts as timed out.
    peer.onClose(() => {
      report.timeouts += options.count - sent;
      sent = options.count;
      queueMicrotask(finish);
    });
    const openLoop = options.ratePerSecond > 0;
    const loopStart = performance.now();
    const settle = (request: IsoMessage, response: IsoMessage | undefined, roundTripMs: number): void => {
      settled += 1;
      if (response === undefined) {
        report.timeouts += 1;
      } else {
        latencies[measured++] = roundTripMs;
        const problems = responseMismatches(request, response);
        if (problems.length > 0) {
          report.mismatches += 1;
          for (const problem of problems) tallyUp(report.mismatchReasons, problem);
        }
        const codes = (report.responseCodes[request.mti] ??= {});
        tallyUp(codes, response.getString(39) ?? 'none');
      }
      if (settled >= options.count) finish();
      else if (!openLoop) sendOne(performance.now());
    };
    const sendOne = (scheduledMs: number): void => {
      if (sent >= options.count || !peer.isOpen) return;
      sent += 1;
      const kind: RequestKind = traffic.nextKind();
      const request = traffic.next(kind, new Date());
      tallyUp(report.sent, request.mti);
      if (!peer.request(request, options.responseTimeoutMs, (response, roundTripMs) => settle(request, response, roundTripMs), scheduledMs)) {
        settle(request, undefined, 0);
      }
    };
    if (!openLoop) {
      for (let window = 0; window < Math.min(options.concurrency, options.count); window++) sendOne(performance.now());
      return;
    }
    const intervalMs = 1000 / options.ratePerSecond;
    const tick = (): void => {
      const due = Math.min(options.count, Math.floor((performance.now() - loopStart) / intervalMs) + 1);
      while (sent < due && peer.isOpen) sendOne(loopStart + sent * intervalMs);
      if (sent < options.count && peer.isOpen) setTimeout(tick, Math.max(1, intervalMs));
    };
    tick();
  });
}
