/**
 * The scheme's end of one connection, as the simulator plays it: frames out and in with the same
 * framings as the gateway's link, answers the gateway's own 0800s (sign-on, echo, sign-off) with
 * 0810 approved, and matches responses to the requests it sent by MTI class and DE 11.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { decode, encode, Iso8583DecodeError, IsoMessage, type Dialect } from '../iso8583';
import { FrameAssembler, KEEP_ALIVE_FRAME } from '../network-link/frame-assembler';
import type { Framing } from '../network-link/framing';
import { isNetworkManagementMti, isResponseMti, mtiMatchClass, responseMtiFor } from '../network-link/message-types';

export interface PeerOptions {
  dialect: Dialect;
  framing: Framing;
  /** Fixed header bytes after the length field; sent as zeros, skipped on receipt. */
  headerBytes: number;
  /** Largest frame body accepted from the gateway. */
  frameBytesMax: number;
}

/** Called once per request: with its response, or undefined on timeout or a closed connection. */
export type ResponseCallback = (response: IsoMessage | undefined, roundTripMs: number) => void;

interface Outstanding {
  readonly callback: ResponseCallback;
  readonly sentMs: number;
  readonly timer: NodeJS.Timeout;
}

export interface PeerCounts {
  framesIn: number;
  framesOut: number;
  undecodable: number;
  unmatchedResponses: number;
  keepAlives: number;
  /** 0800s from the gateway that we answered, by DE 70 code. */
  networkRequestsAnswered: Record<string, number>;
}

export class SchemePeer {
  readonly counts: PeerCounts = {
    framesIn: 0, framesOut: 0, undecodable: 0, unmatchedResponses: 0, keepAlives: 0, networkRequestsAnswered: {},
  };
  private readonly options: PeerOptions;
  private readonly socket: Socket;
  private readonly assembler: FrameAssembler;
  private readonly outstanding = new Map<string, Outstanding>();
  private closed = false;
  private readonly closeListeners: Array<() => void> = [];
  /** Set when the gateway signs on to us (listen mode). */
  private gatewaySignOnListeners: Array<() => void> = [];
  gatewaySignedOn = false;

  constructor(socket: Socket, options: PeerOptions) {
    this.socket = socket;
    this.options = options;
    this.assembler = new FrameAssembler(options.framing, options.frameBytesMax);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.onClosed());
    socket.on('close', () => this.onClosed());
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get outstandingCount(): number {
    return this.outstanding.size;
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  /** Resolves when the gateway (a client-mode link) has signed on to us. */
  whenGatewaySignedOn(): Promise<void> {
    if (this.gatewaySignedOn) return Promise.resolve();
    return new Promise((resolve) => this.gatewaySignOnListeners.push(resolve));
  }

  /** Sends a request; false if one with the same MTI class and STAN is still outstanding. */
  request(message: IsoMessage, timeoutMs: number, callback: ResponseCallback, sentMs = performance.now()): boolean {
    const key = mtiMatchClass(message.mti) + (message.getString(11) ?? '');
    if (this.closed || this.outstanding.has(key)) return false;
    const timer = setTimeout(() => this.expire(key), timeoutMs);
    this.outstanding.set(key, { callback, sentMs, timer });
    this.send(message);
    return true;
  }

  /**
   * Waits for the response to a request sent some other way (sendRaw of a broken frame, say):
   * matched by the request's MTI class and STAN like any other.
   */
  expect(requestMti: string, stan: string, timeoutMs: number, callback: ResponseCallback): boolean {
    const key = mtiMatchClass(requestMti) + stan;
    if (this.closed || this.outstanding.has(key)) return false;
    const timer = setTimeout(() => this.expire(key), timeoutMs);
    this.outstanding.set(key, { callback, sentMs: performance.now(), timer });
    return true;
  }

  /** Promise form of request(), for the few sequential steps (sign-on, echo, sign-off). */
  requestOnce(message: IsoMessage, timeoutMs: number): Promise<IsoMessage | undefined> {
    return new Promise((resolve) => {
      if (!this.request(message, timeoutMs, (response) => resolve(response))) resolve(undefined);
    });
  }

  send(message: IsoMessage): void {
    if (this.closed) return;
    const body = encode(this.options.dialect, message);
    this.sendRaw(body);
  }

  /** Frames and writes a body as is (the fuzz and bad-input tests send broken bodies this way). */
  sendRaw(body: Buffer): void {
    const { framing, headerBytes } = this.options;
    const frame = Buffer.alloc(framing.lengthFieldBytes + headerBytes + body.length);
    framing.writeLength(frame, 0, headerBytes + body.length);
    body.copy(frame, framing.lengthFieldBytes + headerBytes);
    this.counts.framesOut += 1;
    this.socket.write(frame);
  }

  /** Writes bytes with no framing at all (tests of partial and hostile input). */
  writeBytes(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.onClose(resolve);
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.assembler.append(chunk);
    for (let frame = this.assembler.nextFrame(); frame !== undefined; frame = this.assembler.nextFrame()) {
      this.onFrame(frame);
    }
    if (this.assembler.failure !== 'none') this.socket.destroy();
  }

  private onFrame(frame: Buffer): void {
    this.counts.framesIn += 1;
    if (frame === KEEP_ALIVE_FRAME) {
      this.counts.keepAlives += 1;
      return;
    }
    const message = decode(this.options.dialect, frame.subarray(this.options.headerBytes));
    if (message instanceof Iso8583DecodeError) {
      this.counts.undecodable += 1;
      return;
    }
    if (isResponseMti(message.mti)) {
      this.onResponse(message);
    } else if (isNetworkManagementMti(message.mti)) {
      this.answerNetworkRequest(message);
    }
  }

  private onResponse(response: IsoMessage): void {
    const key = mtiMatchClass(response.mti) + (response.getString(11) ?? '');
    const entry = this.outstanding.get(key);
    if (entry === undefined) {
      this.counts.unmatchedResponses += 1;
      return;
    }
    this.outstanding.delete(key);
    clearTimeout(entry.timer);
    entry.callback(response, performance.now() - entry.sentMs);
  }

  private answerNetworkRequest(request: IsoMessage): void {
    const code = request.getString(70) ?? '';
    this.counts.networkRequestsAnswered[code] = (this.counts.networkRequestsAnswered[code] ?? 0) + 1;
    const response = new IsoMessage(responseMtiFor(request.mti) ?? '0810');
    for (const de of [7, 11, 70]) {
      const value = request.getString(de);
      if (value !== undefined) response.set(de, value);
    }
    response.set(39, '00');
    this.send(response);
    if (code === '001' && !this.gatewaySignedOn) {
      this.gatewaySignedOn = true;
      for (const listener of this.gatewaySignOnListeners.splice(0)) listener();
    }
  }

  private expire(key: string): void {
    const entry = this.outstanding.get(key);
    if (entry === undefined) return;
    this.outstanding.delete(key);
    entry.callback(undefined, 0);
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    const entries = [...this.outstanding.values()];
    this.outstanding.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.callback(undefined, 0);
    }
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
