/**
 * One TCP connection of the load generator to the gateway's link: batches request frames per
 * tick into one write, cuts response frames out of the stream with the link's own FrameAssembler,
 * answers the gateway's echo tests, and maps each response back to its request by STAN.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { decode, Iso8583DecodeError, type Dialect, type IsoMessage } from '../../src/iso8583';
import { FrameAssembler, KEEP_ALIVE_FRAME } from '../../src/network-link/frame-assembler';
import type { Framing } from '../../src/network-link/framing';
import { networkRequestFrame, networkResponseFrame } from './request-frames';

/** Index by STAN (1..999999): the request index waiting for that STAN's response, or -1. */
const STAN_SLOTS = 1 << 20;

/**
 * One tick's frames for a connection go out in one write() (reliability-notes §6: a message
 * split over writes, or many tiny writes, costs more than the message). 256 KiB holds over a
 * thousand authorisations, more than any tick at the rates a 2-core machine reaches.
 */
const BATCH_BYTES = 256 * 1024;

/**
 * Beyond this many unsent bytes queued in the socket the gateway has stopped reading (its link
 * pauses at inflightMax): further requests are counted unsent rather than buffered without bound.
 */
const WRITE_QUEUE_BYTES_MAX = 64 * 1024 * 1024;

/** Why a request got no response: its connection closed, it was never written, or none came in time. */
export type LossReason = 'closed' | 'unsent' | 'overwritten' | 'timeout';

export interface ResponseSink {
  /** A financial response: its request index, when it was sent and arrived, and the message (do not keep). */
  onResponse(index: number, sentMs: number, arrivalMs: number, response: IsoMessage): void;
  /** A request the connection could not deliver or whose response cannot come any more. */
  onLost(index: number, reason: LossReason): void;
}

export interface LoadConnectionOptions {
  dialect: Dialect;
  framing: Framing;
  frameBytesMax: number;
}

export class LoadConnection {
  private readonly socket: Socket;
  private readonly assembler: FrameAssembler;
  private readonly options: LoadConnectionOptions;
  private readonly pending = new Int32Array(STAN_SLOTS).fill(-1);
  /** When each outstanding request actually left (for service time and send lag), by STAN. */
  private readonly sentAtMs = new Float64Array(STAN_SLOTS);
  private readonly batch = Buffer.allocUnsafe(BATCH_BYTES);
  private batchLength = 0;
  private sink: ResponseSink | undefined;
  private signOnWaiter: ((approved: boolean) => void) | undefined;
  outstanding = 0;
  unmatchedResponses = 0;
  undecodable = 0;
  open = true;

  private constructor(socket: Socket, options: LoadConnectionOptions) {
    this.socket = socket;
    this.options = options;
    this.assembler = new FrameAssembler(options.framing, options.frameBytesMax);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.onClosed());
    socket.on('close', () => this.onClosed());
  }

  static open(host: string, port: number, options: LoadConnectionOptions, timeoutMs: number): Promise<LoadConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => socket.destroy(new Error(`connect to ${host}:${port} timed out`)), timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new LoadConnection(socket, options));
      });
    });
  }

  /** 0800 sign-on (DE 70 = 001): the link refuses financial requests until it is approved. */
  signOn(stan: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.signOnWaiter = undefined;
        resolve(false);
      }, timeoutMs);
      this.signOnWaiter = (approved) => {
        clearTimeout(timer);
        this.signOnWaiter = undefined;
        resolve(approved);
      };
      this.socket.write(networkRequestFrame(this.options.dialect, this.options.framing, '001', stan));
    });
  }

  attach(sink: ResponseSink): void {
    this.sink = sink;
  }

  /** Room left in the batch buffer, so the caller flushes before a frame would not fit. */
  get batchRoom(): number {
    return this.batch.length - this.batchLength;
  }

  /** The buffer that reserve()'s offsets point into, until the next flush(). */
  get batchBuffer(): Buffer {
    return this.batch;
  }

  /**
   * Registers request `index` under `stan` and returns the offset in batchBuffer to write its
   * frame at; -1 when the request cannot be sent (closed, or the gateway stopped reading).
   */
  reserve(index: number, stan: number, nowMs: number): number {
    if (!this.open) {
      this.sink!.onLost(index, 'closed');
      return -1;
    }
    if (this.socket.writableLength > WRITE_QUEUE_BYTES_MAX) {
      this.sink!.onLost(index, 'unsent');
      return -1;
    }
    const previous = this.pending[stan]!;
    if (previous !== -1) {
      // 999,999 requests later and still unanswered: it is lost, not merely slow.
      this.sink!.onLost(previous, 'overwritten');
      this.outstanding -= 1;
    }
    this.pending[stan] = index;
    this.sentAtMs[stan] = nowMs;
    this.outstanding += 1;
    return this.batchLength;
  }

  /** Commits `length` bytes written at the reserved offset. */
  commit(length: number): void {
    this.batchLength += length;
  }

  /**
   * Sends the tick's frames in one write of a copy just their size; the batch buffer is kept.
   * Taking a fresh 256 KiB batch buffer per flush instead (as this did before) cost the generator a
   * third of its busy time in garbage collection at 14,000/s (profiled, fifth session), time taken
   * from the gateway on the same two cores.
   */
  flush(): void {
    if (this.batchLength === 0) return;
    if (this.open) {
      // The socket may hold what it is given until the kernel takes it, so it gets its own bytes.
      const frames = Buffer.allocUnsafe(this.batchLength);
      this.batch.copy(frames, 0, 0, this.batchLength);
      this.socket.write(frames);
    }
    this.batchLength = 0;
  }

  /** Every outstanding request, at the end of a step or on close: reported lost with `reason`. */
  abandonOutstanding(reason: LossReason): void {
    if (this.outstanding === 0) return;
    for (let stan = 0; stan < STAN_SLOTS; stan++) {
      const index = this.pending[stan]!;
      if (index === -1) continue;
      this.pending[stan] = -1;
      this.sink?.onLost(index, reason);
    }
    this.outstanding = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.open) {
        resolve();
        return;
      }
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  private onData(chunk: Buffer): void {
    const arrivalMs = performance.now();
    this.assembler.append(chunk);
    for (let frame = this.assembler.nextFrame(); frame !== undefined; frame = this.assembler.nextFrame()) {
      if (frame !== KEEP_ALIVE_FRAME) this.onFrame(frame, arrivalMs);
    }
    if (this.assembler.failure !== 'none') this.socket.destroy();
  }

  private onFrame(frame: Buffer, arrivalMs: number): void {
    const message = decode(this.options.dialect, frame);
    if (message instanceof Iso8583DecodeError) {
      this.undecodable += 1;
      return;
    }
    const mti = message.mti;
    if (mti === '0800') {
      this.socket.write(networkResponseFrame(this.options.dialect, this.options.framing, message));
      return;
    }
    if (mti === '0810') {
      this.signOnWaiter?.(message.getString(39) === '00');
      return;
    }
    const stan = Number(message.getString(11));
    const index = stan >= 1 && stan < STAN_SLOTS ? this.pending[stan]! : -1;
    if (index === -1) {
      this.unmatchedResponses += 1;
      return;
    }
    this.pending[stan] = -1;
    this.outstanding -= 1;
    this.sink!.onResponse(index, this.sentAtMs[stan]!, arrivalMs, message);
  }

  private onClosed(): void {
    if (!this.open) return;
    this.open = false;
    this.abandonOutstanding('closed');
  }
}
