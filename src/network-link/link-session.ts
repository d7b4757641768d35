/**
 * One TCP (or TLS) connection of a link, whichever side dialled: frames in, network management
 * answered here, financial requests handed to the acceptor, responses framed and written out.
 *
 * Hot path per financial request: cut the frame (a view), decode, one LinkExchange, hand over; on
 * respond, encode into a per-connection scratch buffer, copy once into the outgoing frame, one
 * write(). Socket listeners and the timer callback are bound once per connection, not per message.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import {
  decode, describeMasked, encodeInto, Iso8583DecodeError, IsoMessage, peekMtiAndStan, type Dialect,
} from '../iso8583';
import type { LinkConfig } from './config';
import { FrameAssembler, KEEP_ALIVE_FRAME } from './frame-assembler';
import type { Framing } from './framing';
import { LinkExchange, type ExchangeConnection, type SchemeRequestHandler } from './link-exchange';
import { Level, LinkMetrics, Tally, type CloseReason, type RefusalReason } from './link-metrics';
import { isNetworkManagementMti, isResponseMti } from './message-types';
import {
  ECHO_TEST, financialRefusal, formatErrorResponse, networkRequest, networkResponse, networkResponseCode,
  RESPONSE_APPROVED, RESPONSE_ISSUER_UNAVAILABLE, RESPONSE_SYSTEM_MALFUNCTION, SIGN_OFF, SIGN_ON,
} from './network-management';
import { OriginatedRequests } from './originated-requests';

/** What a connection needs from the link that owns it (a server or a client link). */
export interface SessionOwner {
  readonly config: LinkConfig;
  readonly dialect: Dialect;
  readonly framing: Framing;
  readonly metrics: LinkMetrics;
  readonly logger: Logger;
  readonly handler: SchemeRequestHandler;
  /** Fixed header for messages we originate, `config.headerBytes` long. */
  readonly headerTemplate: Buffer;
  readonly draining: boolean;
  nextStan(): string;
  onSignedOnChanged(session: LinkSession, signedOn: boolean): void;
  onSessionClosed(session: LinkSession, reason: CloseReason): void;
}

/**
 * Peer faults (undecodable frames, unmatched responses) are logged for the first few per
 * connection, then one in this many, so a peer sending garbage cannot flood the log while the
 * count stays exact in the metrics.
 */
const PEER_FAULT_LOGS_IN_FULL = 10;
const PEER_FAULT_LOG_EVERY = 1000;

function shouldLog(occurrence: number): boolean {
  return occurrence <= PEER_FAULT_LOGS_IN_FULL || occurrence % PEER_FAULT_LOG_EVERY === 0;
}
/** After a graceful end(), how long the peer gets to close its side before we destroy the socket. */
const GRACEFUL_CLOSE_MS = 1000;
/** Housekeeping tick bounds: fine enough for sub-second test timeouts, coarse enough to cost nothing. */
const TICK_MIN_MS = 20;
const TICK_MAX_MS = 1000;

export class LinkSession implements ExchangeConnection {
  readonly linkName: string;
  readonly dialect: Dialect;
  readonly remote: string;
  private readonly owner: SessionOwner;
  private readonly config: LinkConfig;
  private readonly framing: Framing;
  private readonly metrics: LinkMetrics;
  private readonly counts: Float64Array;
  private readonly logger: Logger;
  private readonly socket: Socket;
  private readonly assembler: FrameAssembler;
  private readonly originated: OriginatedRequests;
  /** Encode target: length field + header + the largest body we accept. */
  private readonly scratch: Buffer;
  private readonly bodyOffset: number;
  private readonly tickTimer: NodeJS.Timeout;
  private inflight = 0;
  private readPaused = false;
  private writeBlocked = false;
  private pumping = false;
  private corkedForTick = false;
  private closed = false;
  private signedOnFlag = false;
  private draining = false;
  private signOffSettled = true;
  private lastReceivedMs: number;
  /** Since when a frame has been waiting for its remaining bytes; -1 when no frame is partial. */
  private midFrameSinceMs = -1;
  /** When reading last resumed after a pause: the peer's silence while paused was ours. */
  private readResumedMs = 0;
  private echoOutstanding = false;
  private unansweredEchoes = 0;
  private decodeErrorsSeen = 0;
  private unmatchedSeen = 0;
  private readonly closeWaiters: Array<() => void> = [];

  constructor(owner: SessionOwner, socket: Socket) {
    this.owner = owner;
    this.config = owner.config;
    this.linkName = owner.config.name;
    this.dialect = owner.dialect;
    this.framing = owner.framing;
    this.metrics = owner.metrics;
    this.counts = owner.metrics.counts;
    this.socket = socket;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.logger = owner.logger.child({ remote: this.remote });
    this.assembler = new FrameAssembler(owner.framing, owner.config.frameBytesMax);
    this.originated = new OriginatedRequests(owner.config.matchKey);
    this.bodyOffset = owner.framing.lengthFieldBytes + owner.config.headerBytes;
    this.scratch = Buffer.allocUnsafe(owner.framing.lengthFieldBytes + owner.config.frameBytesMax);
    this.lastReceivedMs = performance.now();
    socket.setNoDelay(true);
    // TCP keep-alive finds a peer that vanished without a FIN even when echo is disabled.
    socket.setKeepAlive(true, 60_000);
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    this.tickTimer = setInterval(this.onTick, tickIntervalMs(owner.config));
    this.tickTimer.unref();
    this.metrics.levels[Level.connections]! += 1;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get signedOn(): boolean {
    return this.signedOnFlag;
  }

  get inflightCount(): number {
    return this.inflight;
  }

  /** Client mode: sign on as soon as the connection is up. */
  signOn(): void {
    this.originate(SIGN_ON, (response, roundTripMs) => {
      if (response !== undefined && response.getString(39) === RESPONSE_APPROVED) {
        this.metrics.observeOriginatedRoundTrip(roundTripMs);
        this.setSignedOn(true);
        return;
      }
      this.logger.warn({ responseCode: response?.getString(39) ?? 'timeout' }, 'sign-on refused or unanswered');
      this.close('sign_on_failed', false);
    });
  }

  /**
   * Graceful drain: refuse new financial requests, sign off if signed on, let in-flight requests
   * finish, then close. Resolves when the connection has closed; the caller bounds the wait.
   */
  drain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const closedPromise = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    if (!this.draining) {
      this.draining = true;
      if (this.signedOnFlag) {
        this.signOffSettled = false;
        this.originate(SIGN_OFF, () => {
          this.signOffSettled = true;
          this.setSignedOn(false);
          this.closeIfDrained();
        });
      }
      this.closeIfDrained();
    }
    return closedPromise;
  }

  /** Closes now. Graceful: flush what is written, then FIN. Otherwise the socket is destroyed. */
  close(reason: CloseReason, graceful: boolean): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.tickTimer);
    this.assembler.reset();
    this.metrics.levels[Level.inflight]! -= this.inflight;
    this.inflight = 0;
    this.setSignedOn(false);
    this.metrics.levels[Level.connections]! -= 1;
    this.metrics.closed(reason);
    const level = reason === 'drained' || reason === 'peer_closed' || reason === 'peer_reset' ? 'info' : 'warn';
    this.logger[level]({ reason }, 'connection closed');
    if (graceful) {
      this.socket.end();
      setTimeout(destroySocket, GRACEFUL_CLOSE_MS, this.socket).unref();
    } else {
      this.socket.destroy();
    }
    this.originated.cancelAll();
    this.owner.onSessionClosed(this, reason);
    for (const resolve of this.closeWaiters.splice(0)) resolve();
  }

  completeExchange(exchange: LinkExchange, response: IsoMessage): void {
    if (this.closed) {
      this.counts[Tally.respondsAfterClose]! += 1;
      return;
    }
    this.inflight -= 1;
    this.metrics.levels[Level.inflight]! -= 1;
    if (!this.pumping && !this.corkedForTick) {
      // An asynchronous acceptor answers from its own callbacks, often many in one tick (a store
      // batch completing): cork until the tick ends so they share one writev, as in pump().
      this.corkedForTick = true;
      this.socket.cork();
      process.nextTick(this.uncorkAfterTick);
    }
    if (!this.writeMessage(response, exchange.header)) {
      this.logger.error({ mti: response.mti }, 'acceptor response did not encode; answering DE 39 = 96');
      this.refuse(exchange.request, exchange.header, RESPONSE_SYSTEM_MALFUNCTION, 'handler_failed');
    }
    if (this.draining) this.closeIfDrained();
    if (this.readPaused || this.writeBlocked) this.pump();
  }

  countDuplicateRespond(): void {
    this.counts[Tally.duplicateResponds]! += 1;
  }

  private readonly uncorkAfterTick = (): void => {
    this.corkedForTick = false;
    this.socket.uncork();
  };

  private readonly onData = (chunk: Buffer): void => {
    // A gracefully closed socket stays readable until the peer's FIN: what it sends is dropped,
    // not held (nothing would ever cut it).
    if (this.closed) return;
    this.counts[Tally.bytesIn]! += chunk.length;
    this.lastReceivedMs = performance.now();
    this.assembler.append(chunk);
    this.pump();
  };

  private readonly onDrain = (): void => {
    this.writeBlocked = false;
    this.pump();
  };

  private readonly onError = (error: NodeJS.ErrnoException): void => {
    this.logger.debug({ err: error.message, code: error.code }, 'socket error');
    // A reset is how many peers hang up; it is counted as a socket error but is no cause for alarm.
    this.close(error.code === 'ECONNRESET' ? 'peer_reset' : 'socket_error', false);
  };

  private readonly onClose = (): void => {
    this.close('peer_closed', false);
  };

  /**
   * Cuts and handles frames while there is room in flight and the socket is writable, then pauses
   * or resumes reading to match. Re-entrant calls (a handler responding synchronously) return at
   * once: the outer loop sees the freed slot.
   */
  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    // Responses produced while cutting one read's frames (echoes, refusals, synchronous answers)
    // leave in one writev when uncorked: each frame is still whole, but a pipelined batch costs
    // one system call instead of one per frame (the write syscall dominated the profile).
    this.socket.cork();
    let framesCut = 0;
    try {
      while (!this.closed && this.inflight < this.config.inflightMax && !this.writeBlocked) {
        const frame = this.assembler.nextFrame();
        if (frame === undefined) break;
        framesCut += 1;
        this.onFrame(frame);
      }
    } finally {
      this.pumping = false;
      this.socket.uncork();
    }
    if (this.closed) return;
    if (this.assembler.failure !== 'none') {
      this.logger.warn({ failure: this.assembler.failure, length: this.assembler.rejectedLength },
        'impossible frame length; closing the connection');
      this.close(this.assembler.failure, false);
      return;
    }
    // The clock runs for the frame now partial: it restarts whenever a frame completes, so a
    // stream whose reads always end inside the next frame is not taken for a stalled one.
    if (this.assembler.isMidFrame()) {
      if (this.midFrameSinceMs < 0 || framesCut > 0) this.midFrameSinceMs = performance.now();
    } else {
      this.midFrameSinceMs = -1;
    }
    const mustPause = this.inflight >= this.config.inflightMax || this.writeBlocked;
    if (mustPause && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    } else if (!mustPause && this.readPaused) {
      this.readPaused = false;
      this.readResumedMs = performance.now();
      this.socket.resume();
    }
    if (this.draining) this.closeIfDrained();
  }

  private onFrame(frame: Buffer): void {
    // When the read that completed this frame was delivered: a frame is cut from the latest chunk
    // (reading pauses while whole frames wait to be cut), so that wait counts against its budget.
    // Bytes Node buffered while reading was paused are stamped when delivered, a lower bound.
    const arrivalMs = this.lastReceivedMs;
    this.counts[Tally.framesIn]! += 1;
    if (frame === KEEP_ALIVE_FRAME) {
      this.onKeepAlive();
      return;
    }
    const headerBytes = this.config.headerBytes;
    if (frame.length <= headerBytes) {
      this.counts[Tally.droppedFrames]! += 1;
      return;
    }
    const body = headerBytes === 0 ? frame : frame.subarray(headerBytes);
    const message = decode(this.dialect, body);
    if (message instanceof Iso8583DecodeError) {
      this.onUndecodable(frame, body, message);
      return;
    }
    const mti = message.mti;
    if (isResponseMti(mti)) {
      this.onResponse(message);
    } else if (isNetworkManagementMti(mti)) {
      this.onNetworkManagement(message, frame);
    } else {
      this.onFinancialRequest(message, frame, arrivalMs);
    }
  }

  private onFinancialRequest(request: IsoMessage, frame: Buffer, arrivalMs: number): void {
    const header = this.config.headerBytes === 0 ? null : Buffer.from(frame.subarray(0, this.config.headerBytes));
    if (this.draining || this.owner.draining) {
      this.refuse(request, header, RESPONSE_ISSUER_UNAVAILABLE, 'draining');
      return;
    }
    if (this.config.signOnRequired && !this.signedOnFlag) {
      this.refuse(request, header, RESPONSE_ISSUER_UNAVAILABLE, 'not_signed_on');
      return;
    }
    const exchange = new LinkExchange(this, request, arrivalMs, header);
    this.inflight += 1;
    this.metrics.levels[Level.inflight]! += 1;
    this.counts[Tally.requests]! += 1;
    try {
      this.owner.handler.handleRequest(request, exchange);
    } catch (error: unknown) {
      this.logger.error({ err: error instanceof Error ? error.message : String(error), request: describeMasked(request) },
        'acceptor threw; answering DE 39 = 96');
      if (!exchange.responded) {
        const fallback = financialRefusal(request, RESPONSE_SYSTEM_MALFUNCTION);
        if (fallback !== undefined) exchange.respond(fallback);
        this.metrics.refused('handler_failed');
      }
    }
  }

  /** Answers a financial request ourselves (refusal or fallback); it never took an in-flight slot. */
  private refuse(request: IsoMessage, header: Buffer | null, responseCode: string, reason: RefusalReason): void {
    this.metrics.refused(reason);
    const response = financialRefusal(request, responseCode);
    if (response === undefined || !this.writeMessage(response, header)) this.counts[Tally.droppedFrames]! += 1;
  }

  private onNetworkManagement(request: IsoMessage, frame: Buffer): void {
    const code = request.getString(70);
    const response = networkResponse(request, networkResponseCode(code));
    const header = this.config.headerBytes === 0 ? null : frame.subarray(0, this.config.headerBytes);
    this.writeMessage(response, header);
    if (code === SIGN_ON) this.setSignedOn(true);
    else if (code === SIGN_OFF) this.setSignedOn(false);
  }

  private onResponse(response: IsoMessage): void {
    const outcome = this.originated.complete(response, performance.now());
    if (outcome === 'matched') return;
    this.counts[outcome === 'late' ? Tally.lateResponses : Tally.unknownResponses]! += 1;
    this.unmatchedSeen += 1;
    if (shouldLog(this.unmatchedSeen)) {
      this.logger.warn({ outcome, response: describeMasked(response), unmatched: this.unmatchedSeen },
        'response matches no request we sent');
    }
  }

  private onUndecodable(frame: Buffer, body: Buffer, error: Iso8583DecodeError): void {
    this.counts[Tally.decodeErrors]! += 1;
    this.decodeErrorsSeen += 1;
    if (shouldLog(this.decodeErrorsSeen)) {
      this.logger.warn({ code: error.code, field: error.field, offset: error.offset, reason: error.reason,
        decodeErrors: this.decodeErrorsSeen }, 'frame did not decode');
    }
    const peeked = peekMtiAndStan(this.dialect, body);
    const response = peeked === undefined || peeked.stan === undefined
      ? undefined : formatErrorResponse(peeked.mti, peeked.stan);
    if (response === undefined) {
      this.counts[Tally.droppedFrames]! += 1;
      return;
    }
    const header = this.config.headerBytes === 0 ? null : frame.subarray(0, this.config.headerBytes);
    this.metrics.refused('format_error');
    if (!this.writeMessage(response, header)) this.counts[Tally.droppedFrames]! += 1;
  }

  private onKeepAlive(): void {
    this.counts[Tally.keepAlives]! += 1;
    if (!this.framing.answersKeepAlive) {
      this.counts[Tally.droppedFrames]! += 1;
      return;
    }
    const frame = Buffer.allocUnsafe(this.framing.lengthFieldBytes);
    this.framing.writeLength(frame, 0, 0);
    this.writeFrame(frame);
  }

  /**
   * Encodes a message behind the length field and header and writes it as one frame. False when
   * it would not encode (a bad value from the acceptor, or larger than frameBytesMax).
   */
  private writeMessage(message: IsoMessage, header: Buffer | null): boolean {
    if (this.closed) return false;
    let messageBytes: number;
    try {
      messageBytes = encodeInto(this.dialect, message, this.scratch, this.bodyOffset);
    } catch (error: unknown) {
      this.logger.error({ err: error instanceof Error ? error.message : String(error), mti: message.mti },
        'message did not encode');
      return false;
    }
    const headerBytes = this.config.headerBytes;
    const lengthBytes = this.framing.lengthFieldBytes;
    this.framing.writeLength(this.scratch, 0, headerBytes + messageBytes);
    if (headerBytes > 0) (header ?? this.owner.headerTemplate).copy(this.scratch, lengthBytes, 0, headerBytes);
    const frameBytes = this.bodyOffset + messageBytes;
    // Copy out of the scratch buffer: write() may hold the buffer until the kernel takes it.
    const frame = Buffer.allocUnsafe(frameBytes);
    this.scratch.copy(frame, 0, 0, frameBytes);
    this.writeFrame(frame);
    return true;
  }

  private writeFrame(frame: Buffer): void {
    this.counts[Tally.framesOut]! += 1;
    this.counts[Tally.bytesOut]! += frame.length;
    if (!this.socket.write(frame)) this.writeBlocked = true;
  }

  /** Sends an 0800 we originate and waits for its 0810 through the matcher. */
  private originate(code: string, onSettled: (response: IsoMessage | undefined, roundTripMs: number) => void): void {
    const request = networkRequest(code, this.owner.nextStan(), this.config.networkManagementFields, new Date());
    if (!this.originated.register(request, this.config.originatedTimeoutMs, performance.now(), onSettled)) {
      onSettled(undefined, 0);
      return;
    }
    if (!this.writeMessage(request, null)) {
      this.logger.error({ code }, 'network management request did not encode in this dialect');
    }
  }

  private sendEcho(): void {
    this.echoOutstanding = true;
    this.originate(ECHO_TEST, (response, roundTripMs) => {
      this.echoOutstanding = false;
      if (response !== undefined) {
        this.unansweredEchoes = 0;
        this.metrics.observeOriginatedRoundTrip(roundTripMs);
        return;
      }
      if (this.closed) return;
      this.unansweredEchoes += 1;
      if (this.unansweredEchoes >= this.config.echoUnansweredMax) {
        this.logger.warn({ unansweredEchoes: this.unansweredEchoes }, 'echoes unanswered; link down');
        this.close('echo_unanswered', false);
      }
    });
  }

  private setSignedOn(signedOn: boolean): void {
    if (this.signedOnFlag === signedOn) return;
    this.signedOnFlag = signedOn;
    this.metrics.levels[Level.signedOn]! += signedOn ? 1 : -1;
    this.logger.info({ signedOn }, signedOn ? 'signed on' : 'signed off');
    this.owner.onSignedOnChanged(this, signedOn);
  }

  private closeIfDrained(): void {
    if (!this.draining || !this.signOffSettled || this.inflight !== 0 || this.closed) return;
    if (this.assembler.hasUnreadBytes()) {
      // Requests read while reading was paused, not yet cut: each is answered first (refused 91
      // while draining), never dropped with the connection. pump() comes back here when done.
      if (!this.pumping && !this.writeBlocked) this.pump();
      return;
    }
    this.close('drained', true);
  }

  private readonly onTick = (): void => {
    // While reading is paused for backpressure the peer's silence is ours, not theirs.
    if (this.closed || this.readPaused) return;
    const now = performance.now();
    const idleMs = now - Math.max(this.lastReceivedMs, this.readResumedMs);
    if (this.config.readIdleTimeoutMs > 0 && idleMs > this.config.readIdleTimeoutMs) {
      this.close('idle_timeout', false);
      return;
    }
    if (this.midFrameSinceMs >= 0 && now - this.midFrameSinceMs > this.config.frameAssemblyTimeoutMs) {
      this.close('frame_timeout', false);
      return;
    }
    // The first echo waits for the idle period; after an unanswered one, the next goes at once.
    const echoDue = this.unansweredEchoes > 0 || idleMs >= this.config.echoIdleMs;
    if (this.config.echoIdleMs > 0 && !this.echoOutstanding && !this.draining && echoDue) this.sendEcho();
  };
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}

/** A quarter of the shortest timer, so each fires within 25% of its setting. */
function tickIntervalMs(config: LinkConfig): number {
  const timers = [config.echoIdleMs, config.readIdleTimeoutMs, config.frameAssemblyTimeoutMs, config.originatedTimeoutMs]
    .filter((value) => value > 0);
  const shortest = Math.min(...timers);
  return Math.max(TICK_MIN_MS, Math.min(TICK_MAX_MS, Math.floor(shortest / 4)));
}
