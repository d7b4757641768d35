/**
 * `npm run bench:link`: echo round trips through the real network link on loopback, driven from a
 * separate load process (bench/link/load.ts), printed as JSON lines
 *   {"case","impl","roundTripsPerSec","p50Micros","p99Micros", ...}
 *
 * Cases: 0800 echoes answered inside the link, and 0100s through a trivial acceptor (decode,
 * exchange, encode: the link's whole per-request path) answering at once or on the next turn of
 * the event loop (as an acceptor waiting on its store does), pipelined (8 connections x 32 in
 * flight) and one at a time (1 x 1). A bare framed echo server (no decode) is the baseline.
 *
 *   BENCH_SECONDS   measured seconds per case (default 5; CI smoke runs use 1)
 *   BENCH_CASES     comma-separated case names to run (default all)
 *
 * Closed loop by design (this measures capacity, not latency under a fixed rate; see
 * reliability-notes on coordinated omission): latencies here are service times at saturation.
 */
import { fork } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { IsoMessage } from '../src/iso8583';
import { LinkExchange, SchemeRequestHandler, startLinks, validateLinkConfig } from '../src/network-link';
import { FrameAssembler } from '../src/network-link/frame-assembler';
import { framingFor } from '../src/network-link/framing';
import type { LoadPlan, LoadResult } from './link/load';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '5');
const WARMUP_MS = Math.min(2000, Math.max(300, SECONDS * 300));
const SELECTED = process.env['BENCH_CASES']?.split(',').filter((name) => name.length > 0);

/** The smallest acceptor: approve at once. Measures the link, not the authorisation rules. */
class ImmediateApproval implements SchemeRequestHandler {
  handleRequest(request: IsoMessage, exchange: LinkExchange): void {
    const response = new IsoMessage('0110');
    response.set(11, request.getString(11)!);
    response.set(37, request.getString(37)!);
    response.set(41, request.getString(41)!);
    response.set(39, '00');
    exchange.respond(response);
  }
}

/**
 * An acceptor that answers later, as the real one does after its store calls: requests are
 * collected and answered together on the next turn of the event loop.
 */
class DeferredApproval implements SchemeRequestHandler {
  private readonly waiting: LinkExchange[] = [];
  private readonly immediate = new ImmediateApproval();
  private scheduled = false;

  handleRequest(_request: IsoMessage, exchange: LinkExchange): void {
    this.waiting.push(exchange);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.answerAll);
    }
  }

  private readonly answerAll = (): void => {
    this.scheduled = false;
    for (const exchange of this.waiting.splice(0)) this.immediate.handleRequest(exchange.request, exchange);
  };
}

/** Routes by terminal id so one link can serve both acceptors (BENCH001 immediate, BENCH002 deferred). */
class BenchAcceptor implements SchemeRequestHandler {
  private readonly immediate = new ImmediateApproval();
  private readonly deferred = new DeferredApproval();

  handleRequest(request: IsoMessage, exchange: LinkExchange): void {
    if (request.getString(41) === 'BENCH002') this.deferred.handleRequest(request, exchange);
    else this.immediate.handleRequest(request, exchange);
  }
}

/** Baseline: reflects each length-prefixed frame, no decode. What raw node:net costs here. */
function startBareEcho(): Promise<Server> {
  const framing = framingFor('binary2');
  const server = createServer({ noDelay: true }, (socket) => {
    const assembler = new FrameAssembler(framing, 8192);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      assembler.append(chunk);
      // Corked like the link, so the baseline differs from it only by decode and encode.
      socket.cork();
      for (let frame = assembler.nextFrame(); frame !== undefined; frame = assembler.nextFrame()) {
        const out = Buffer.allocUnsafe(frame.length + 2);
        framing.writeLength(out, 0, frame.length);
        frame.copy(out, 2);
        socket.write(out);
      }
      socket.uncork();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function runLoad(plan: LoadPlan): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'link', 'load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (result) => resolve(result as LoadResult));
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load process exited ${code}`));
    });
    child.send(plan);
  });
}

interface BenchCase {
  name: string;
  impl: 'network-link' | 'bare-node-framed-echo';
  message: LoadPlan['message'];
  connections: number;
  inflightPerConnection: number;
}

const CASES: BenchCase[] = [
  { name: 'echo-0800-pipelined-8x32', impl: 'network-link', message: 'echo', connections: 8, inflightPerConnection: 32 },
  { name: 'auth-0100-pipelined-8x32', impl: 'network-link', message: 'authorisation', connections: 8, inflightPerConnection: 32 },
  { name: 'auth-0100-async-acceptor-pipelined-8x32', impl: 'network-link', message: 'authorisation-deferred', connections: 8, inflightPerConnection: 32 },
  { name: 'echo-0800-serial-1x1', impl: 'network-link', message: 'echo', connections: 1, inflightPerConnection: 1 },
  { name: 'echo-0800-pipelined-8x32', impl: 'bare-node-framed-echo', message: 'echo', connections: 8, inflightPerConnection: 32 },
  { name: 'echo-0800-serial-1x1', impl: 'bare-node-framed-echo', message: 'echo', connections: 1, inflightPerConnection: 1 },
];

async function main(): Promise<void> {
  const registry = new Registry();
  const config = validateLinkConfig({
    name: 'bench', port: 0, signOnRequired: false, echoIdleMs: 0, connectionsMax: 16,
    // Room for 32 in flight per connection, so the link's own limit is not what is measured.
    inflightMax: 64,
  });
  const supervisor = await startLinks([config], { handler: new BenchAcceptor(), registry, logger: pino({ level: 'warn' }) });
  const linkPort = supervisor.status('bench')!.listening!.port;
  const bare = await startBareEcho();
  const barePort = (bare.address() as AddressInfo).port;
  const environment = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length };
  try {
    for (const benchCase of CASES) {
      if (SELECTED !== undefined && !SELECTED.includes(benchCase.name) && !SELECTED.includes(`${benchCase.name}/${benchCase.impl}`)) continue;
      const result = await runLoad({
        port: benchCase.impl === 'network-link' ? linkPort : barePort,
        connections: benchCase.connections,
        inflightPerConnection: benchCase.inflightPerConnection,
        message: benchCase.message,
        signOn: false,
        warmupMs: WARMUP_MS,
        measureMs: SECONDS * 1000,
      });
      process.stdout.write(`${JSON.stringify({
        case: benchCase.name,
        impl: benchCase.impl,
        roundTripsPerSec: Math.round(result.roundTrips / result.seconds),
        p50Micros: result.p50Micros,
        p99Micros: result.p99Micros,
        maxMicros: result.maxMicros,
        connections: benchCase.connections,
        inflightPerConnection: benchCase.inflightPerConnection,
        seconds: Number(result.seconds.toFixed(2)),
        unmatched: result.unmatched,
        ...environment,
      })}\n`);
    }
  } finally {
    await supervisor.drain(1000);
    bare.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:link failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
