/**
 * What server-mode and client-mode links share: config, dialect, metrics, logger, the acceptor,
 * the STAN counter for messages we originate, and the set of open connections.
 */
import type { Logger } from 'pino';
import type { Dialect } from '../iso8583';
import type { LinkConfig, LinkMode } from './config';
import { framingFor, type Framing } from './framing';
import type { SchemeRequestHandler } from './link-exchange';
import { Level, type CloseReason, type LinkMetrics } from './link-metrics';
import type { LinkSession, SessionOwner } from './link-session';

export type LinkState =
  | 'starting' | 'listening' | 'connecting' | 'connected' | 'signed_on' | 'waiting_to_reconnect'
  | 'draining' | 'stopped';

/** One link's state for /readyz and the admin API. */
export interface LinkStatus {
  name: string;
  mode: LinkMode;
  state: LinkState;
  ready: boolean;
  connections: number;
  signedOnConnections: number;
  inflight: number;
  /** Server mode: the address actually bound (port 0 resolves here). */
  listening: { host: string; port: number } | null;
}

export interface LinkParts {
  config: LinkConfig;
  dialect: Dialect;
  metrics: LinkMetrics;
  logger: Logger;
  handler: SchemeRequestHandler;
}

/** STAN (DE 11) is six digits; it wraps from 999999 back to 000001 (000000 is not used). */
const STAN_MAX = 999_999;

export abstract class LinkBase implements SessionOwner {
  readonly config: LinkConfig;
  readonly dialect: Dialect;
  readonly framing: Framing;
  readonly metrics: LinkMetrics;
  readonly logger: Logger;
  readonly handler: SchemeRequestHandler;
  readonly headerTemplate: Buffer;
  draining = false;
  protected readonly sessions = new Set<LinkSession>();
  private stan = 0;

  constructor(parts: LinkParts) {
    this.config = parts.config;
    this.dialect = parts.dialect;
    this.framing = framingFor(parts.config.framing);
    this.metrics = parts.metrics;
    this.logger = parts.logger;
    this.handler = parts.handler;
    this.headerTemplate = parts.config.headerTemplateHex.length > 0
      ? Buffer.from(parts.config.headerTemplateHex, 'hex')
      : Buffer.alloc(parts.config.headerBytes);
  }

  abstract start(): Promise<void>;
  /** Stop taking new work, sign off, let in-flight finish within the bound, close. */
  abstract drain(timeoutMs: number): Promise<void>;
  abstract isReady(): boolean;
  protected abstract state(): LinkState;
  protected abstract listeningAddress(): { host: string; port: number } | null;

  nextStan(): string {
    this.stan = this.stan >= STAN_MAX ? 1 : this.stan + 1;
    return String(this.stan).padStart(6, '0');
  }

  onSignedOnChanged(_session: LinkSession, _signedOn: boolean): void {}

  onSessionClosed(session: LinkSession, _reason: CloseReason): void {
    this.sessions.delete(session);
  }

  status(): LinkStatus {
    let signedOn = 0;
    let inflight = 0;
    for (const session of this.sessions) {
      if (session.signedOn) signedOn += 1;
      inflight += session.inflightCount;
    }
    return {
      name: this.config.name,
      mode: this.config.mode,
      state: this.state(),
      ready: this.isReady(),
      connections: this.sessions.size,
      signedOnConnections: signedOn,
      inflight,
      listening: this.listeningAddress(),
    };
  }

  protected setUp(up: boolean): void {
    this.metrics.levels[Level.up] = up ? 1 : 0;
  }

  /** Drains every open connection; those still open at the deadline are closed hard. */
  protected async drainSessions(timeoutMs: number): Promise<void> {
    const sessions = [...this.sessions];
    if (sessions.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(sessions.map((session) => session.drain())), deadline]);
    clearTimeout(timer);
    for (const session of sessions) {
      if (session.isOpen) {
        this.logger.warn({ remote: session.remote, inflight: session.inflightCount }, 'drain bound reached; closing');
        session.close('drain_timeout', false);
      }
    }
  }
}
