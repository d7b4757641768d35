/**
 * Client mode: we dial the scheme, sign on, and keep the connection up. A failed connect, a
 * refused sign-on or a lost connection leads to a redial after an exponentially growing delay with
 * jitter (so a fleet of gateways does not redial the scheme in step); a sign-on resets the delay.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import type { LinkConfig } from './config';
import { LinkBase, type LinkParts, type LinkState } from './link-base';
import { Tally, type CloseReason } from './link-metrics';
import { LinkSession } from './link-session';
import { clientTlsOptions } from './tls-options';

/**
 * Delay before redial number `failures` (1-based): initial x 2^(failures-1), capped at the maximum,
 * of which a random share up to `reconnectJitterRatio` is taken off.
 */
export function reconnectDelayMs(failures: number, config: LinkConfig, random: () => number): number {
  // The exponent is capped so the power cannot overflow to Infinity on a long outage.
  const exponential = Math.min(config.reconnectMaxMs, config.reconnectInitialMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(exponential * (1 - config.reconnectJitterRatio * random()));
}

export class ClientLink extends LinkBase {
  private session: LinkSession | null = null;
  private dialling: Socket | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private attempts = 0;
  private stopped = false;
  /** Built once (certificates read and parsed at start-up), reused by every redial. */
  private readonly tlsOptions: ConnectionOptions | null;

  constructor(parts: LinkParts) {
    super(parts);
    this.tlsOptions = this.config.tls === null ? null : clientTlsOptions(this.config, this.config.tls);
  }

  /** Starts dialling and returns at once: readiness follows the sign-on, not start-up. */
  start(): Promise<void> {
    this.dial();
    return Promise.resolve();
  }

  async drain(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.draining = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.dialling?.destroy();
    this.dialling = null;
    await this.drainSessions(timeoutMs);
  }

  isReady(): boolean {
    return !this.draining && this.session !== null && this.session.signedOn;
  }

  override onSignedOnChanged(_session: LinkSession, signedOn: boolean): void {
    if (signedOn) this.failures = 0;
  }

  override onSessionClosed(session: LinkSession, reason: CloseReason): void {
    super.onSessionClosed(session, reason);
    if (this.session === session) this.session = null;
    this.setUp(false);
    this.scheduleRedial();
  }

  protected state(): LinkState {
    if (this.stopped) return this.session !== null ? 'draining' : 'stopped';
    if (this.session !== null) return this.session.signedOn ? 'signed_on' : 'connected';
    if (this.dialling !== null) return 'connecting';
    return this.reconnectTimer !== null ? 'waiting_to_reconnect' : 'starting';
  }

  protected listeningAddress(): null {
    return null;
  }

  private dial(): void {
    this.reconnectTimer = null;
    if (this.stopped) return;
    this.attempts += 1;
    if (this.attempts > 1) this.metrics.counts[Tally.reconnects]! += 1;
    const { host, port } = this.config;
    const tls = this.tlsOptions;
    let socket: Socket;
    try {
      socket = tls === null ? connectTcp({ host, port, noDelay: true }) : connectTls({ ...tls, host, port });
    } catch (error: unknown) {
      // Thrown synchronously (from a timer, on a redial): it must not take the process down.
      this.logger.warn({ err: error instanceof Error ? error.message : String(error), attempt: this.attempts },
        'connect failed');
      this.scheduleRedial();
      return;
    }
    this.dialling = socket;
    const readyEvent = tls === null ? 'connect' : 'secureConnect';
    const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), this.config.connectTimeoutMs);
    let failed = false;
    const onFailed = (error: Error): void => {
      // Kept attached until the session takes over, so a second error cannot go unhandled.
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      if (this.dialling === socket) this.dialling = null;
      socket.destroy();
      this.logger.warn({ err: error.message, attempt: this.attempts }, 'connect failed');
      this.scheduleRedial();
    };
    socket.on('error', onFailed);
    socket.once(readyEvent, () => {
      clearTimeout(timer);
      socket.off('error', onFailed);
      this.dialling = null;
      if (this.stopped) {
        socket.destroy();
        return;
      }
      const session = new LinkSession(this, socket);
      this.session = session;
      this.sessions.add(session);
      this.setUp(true);
      this.logger.info({ remote: session.remote, tls: tls !== null }, 'connected to the scheme; signing on');
      session.signOn();
    });
  }

  private scheduleRedial(): void {
    if (this.stopped || this.reconnectTimer !== null) return;
    this.failures += 1;
    const delayMs = reconnectDelayMs(this.failures, this.config, Math.random);
    this.logger.info({ delayMs, failures: this.failures }, 'redialling after a delay');
    this.reconnectTimer = setTimeout(() => this.dial(), delayMs);
  }
}
