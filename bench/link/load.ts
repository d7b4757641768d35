/**
 * The load side of `npm run bench:link`, run as a separate process so the link under test has its
 * own event loop: N connections, each keeping W requests in flight (closed loop, pipelined), every
 * response matched to its slot by DE 11 and timed into an HdrHistogram.
 *
 * Frames are encoded once before the clock starts; a slot re-sends its own frame when answered.
 * Parent -> child: a LoadPlan message. Child -> parent: a LoadResult message, then exit.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { build } from 'hdr-histogram-js';
import { encode, IsoMessage, loadDialect, peekMtiAndStan } from '../../src/iso8583';
import { FrameAssembler } from '../../src/network-link/frame-assembler';
import { framingFor } from '../../src/network-link/framing';

export interface LoadPlan {
  port: number;
  connections: number;
  inflightPerConnection: number;
  /** 0800 echo (answered inside the link) or 0100 (through the acceptor, at once or deferred). */
  message: 'echo' | 'authorisation' | 'authorisation-deferred';
  /** Sign on first (links that require it). */
  signOn: boolean;
  warmupMs: number;
  measureMs: number;
}

export interface LoadResult {
  roundTrips: number;
  seconds: number;
  p50Micros: number;
  p99Micros: number;
  maxMicros: number;
  unmatched: number;
}

const dialect = loadDialect('ascii');
const framing = framingFor('binary2');

function frameOf(message: IsoMessage): Buffer {
  const body = encode(dialect, message);
  const frame = Buffer.allocUnsafe(2 + body.length);
  framing.writeLength(frame, 0, body.length);
  body.copy(frame, 2);
  return frame;
}

function requestFor(kind: LoadPlan['message'], stan: string): IsoMessage {
  if (kind === 'echo') return new IsoMessage('0800').set(7, '1126120000').set(11, stan).set(70, '301');
  return new IsoMessage('0100').set(2, '4111111111111111').set(3, '000000').set(4, '000000001234')
    .set(7, '1126120000').set(11, stan).set(37, `633012${stan}`)
    // The bench acceptor answers terminal BENCH002 on the next event-loop turn, BENCH001 at once.
    .set(41, kind === 'authorisation' ? 'BENCH001' : 'BENCH002').set(49, '978');
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => resolve(socket));
  });
}

async function run(plan: LoadPlan): Promise<LoadResult> {
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let measuring = false;
  let roundTrips = 0;
  let unmatched = 0;
  const sockets: Socket[] = [];
  const frames: Buffer[][] = [];
  const sentAt: Float64Array[] = [];
  for (let connection = 0; connection < plan.connections; connection++) {
    const socket = await dial(plan.port);
    sockets.push(socket);
    // STANs are per connection: slot s uses STAN s+1, so the response's DE 11 names its slot.
    frames.push(Array.from({ length: plan.inflightPerConnection },
      (_, slot) => frameOf(requestFor(plan.message, String(slot + 1).padStart(6, '0')))));
    sentAt.push(new Float64Array(plan.inflightPerConnection));
  }
  if (plan.signOn) {
    await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => {
      socket.once('data', () => resolve());
      socket.write(frameOf(new IsoMessage('0800').set(7, '1126120000').set(11, '999999').set(70, '001')));
    })));
  }
  sockets.forEach((socket, connection) => {
    const assembler = new FrameAssembler(framing, 8192);
    const slotFrames = frames[connection]!;
    const slotSentAt = sentAt[connection]!;
    socket.on('data', (chunk: Buffer) => {
      assembler.append(chunk);
      const now = performance.now();
      // Re-sends for one read leave in one writev, so the load side is not the bottleneck.
      socket.cork();
      for (let frame = assembler.nextFrame(); frame !== undefined; frame = assembler.nextFrame()) {
        const peeked = peekMtiAndStan(dialect, frame);
        const slot = peeked?.stan === undefined ? -1 : Number(peeked.stan) - 1;
        if (slot < 0 || slot >= slotFrames.length) {
          unmatched += 1;
          continue;
        }
        if (measuring) {
          roundTrips += 1;
          histogram.recordValue(Math.max(1, Math.round((now - slotSentAt[slot]!) * 1000)));
        }
        slotSentAt[slot] = performance.now();
        socket.write(slotFrames[slot]!);
      }
      socket.uncork();
    });
    // Fill the pipeline.
    for (let slot = 0; slot < slotFrames.length; slot++) {
      slotSentAt[slot] = performance.now();
      socket.write(slotFrames[slot]!);
    }
  });
  await new Promise((resolve) => setTimeout(resolve, plan.warmupMs));
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, plan.measureMs));
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  // Stop writing, then close politely so the link logs an ordinary peer close, not a reset.
  for (const socket of sockets) {
    socket.removeAllListeners('data');
    socket.end();
  }
  return {
    roundTrips,
    seconds,
    p50Micros: histogram.getValueAtPercentile(50),
    p99Micros: histogram.getValueAtPercentile(99),
    maxMicros: histogram.maxValue,
    unmatched,
  };
}

process.once('message', (plan: LoadPlan) => {
  run(plan).then((result) => {
    process.send!(result, undefined, {}, () => process.exit(0));
  }, (error: unknown) => {
    process.stderr.write(`load failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
});
