/**
 * Server mode: the scheme connects to us. Listens on host:port (plain TCP or TLS), caps the number
 * of connections, and runs one LinkSession per accepted connection. The scheme signs on; we answer.
 */
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { LinkBase, type LinkParts, type LinkState } from './link-base';
import { LinkSession } from './link-session';
import { serverTlsOptions } from './tls-options';

export class ServerLink extends LinkBase {
  private readonly server: Server;
  private listening = false;
  private stopped = false;

  constructor(parts: LinkParts) {
    super(parts);
    const tls = this.config.tls;
    if (tls === null) {
      this.server = createTcpServer({ noDelay: true }, this.onConnection);
    } else {
      const server = createTlsServer(serverTlsOptions(this.config, tls), this.onConnection);
      // A peer without a valid client certificate fails the handshake and never reaches a session.
      server.on('tlsClientError', (error: Error, socket) => {
        this.metrics.closed('tls_refused');
        this.logger.warn({ remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, err: error.message },
          'TLS handshake refused');
      });
      this.server = server;
    }
    this.server.on('error', (error: Error) => this.logger.error({ err: error.message }, 'listener error'));
  }

  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.once('error', onError);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', onError);
        this.listening = true;
        this.setUp(true);
        this.logger.info({ address: this.listeningAddress(), tls: this.config.tls !== null }, 'link listening');
        resolve();
      });
    });
  }

  async drain(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.draining = true;
    // Stop accepting first; close() only stops the listener, open connections are drained below.
    this.server.close();
    this.listening = false;
    this.setUp(false);
    await this.drainSessions(timeoutMs);
  }

  isReady(): boolean {
    return this.listening && !this.draining;
  }

  protected state(): LinkState {
    if (this.stopped) return this.sessions.size > 0 ? 'draining' : 'stopped';
    return this.listening ? 'listening' : 'starting';
  }

  protected listeningAddress(): { host: string; port: number } | null {
    const address = this.server.address();
    if (address === null || typeof address === 'string') return null;
    return { host: (address as AddressInfo).address, port: (address as AddressInfo).port };
  }

  private readonly onConnection = (socket: Socket): void => {
    if (this.draining || this.sessions.size >= this.config.connectionsMax) {
      this.metrics.closed('connections_max');
      this.logger.warn({ remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, draining: this.draining },
        'connection refused: limit reached or draining');
      socket.destroy();
      return;
    }
    const session = new LinkSession(this, socket);
    this.sessions.add(session);
    this.logger.info({ remote: session.remote }, 'scheme connected');
  };
}
