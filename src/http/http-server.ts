/**
 * The gateway's HTTP side on uWebSockets.js: liveness, readiness and Prometheus metrics here; the
 * admin API mounts its routes through `mountRoutes`.
 *
 * uWebSockets.js is chosen for its low per-request cost: /metrics is scraped while the scheme link
 * is under load, and it shares the event loop with authorisations.
 */
import type { HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger';
import type { Readiness } from './readiness';
import { loadNativeUws } from './uws-native';

export interface HttpServerOptions {
  host: string;
  port: number;
  registry: Registry;
  readiness: Readiness;
  logger: Logger;
  /** Adds further routes (the admin API) before the server listens. */
  mountRoutes?: (app: TemplatedApp) => void;
}

export interface HttpServer {
  /** The bound port: the configured one, or the one the OS chose when configured as 0. */
  readonly port: number;
  close(): void;
}

/** Abort tracking for async handlers: uWS forbids touching a response after the client left. */
export function trackAborted(res: HttpResponse): { aborted: boolean } {
  const state = { aborted: false };
  res.onAborted(() => { state.aborted = true; });
  return state;
}

export function sendJson(res: HttpResponse, status: string, body: unknown): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(body));
  });
}

export function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const uws = loadNativeUws();
  const app = uws.App();
  const { registry, readiness, logger } = options;

  app.get('/healthz', (res) => {
    // Liveness: the event loop answered. Readiness is a separate question (/readyz).
    res.writeHeader('content-type', 'application/json').end('{"status":"ok"}');
  });

  app.get('/readyz', (res) => {
    const report = readiness.report();
    sendJson(res, report.ready ? '200 OK' : '503 Service Unavailable', report);
  });

  app.get('/metrics', (res) => {
    const state = trackAborted(res);
    registry.metrics().then(
      (text) => {
        if (state.aborted) return;
        res.cork(() => {
          res.writeHeader('content-type', registry.contentType).end(text);
        });
      },
      (error: unknown) => {
        logger.error({ err: error }, 'metrics collection failed');
        if (!state.aborted) sendJson(res, '500 Internal Server Error', { error: 'metrics failed' });
      },
    );
  });

  options.mountRoutes?.(app);

  app.any('/*', (res) => {
    sendJson(res, '404 Not Found', { error: 'not found' });
  });

  return new Promise((resolvePromise, reject) => {
    app.listen(options.host, options.port, (listenSocket: us_listen_socket | false) => {
      if (listenSocket === false) {
        reject(new Error(`HTTP side could not listen on ${options.host}:${options.port}`));
        return;
      }
      const port = uws.us_socket_local_port(listenSocket);
      let closed = false;
      resolvePromise({
        port,
        close(): void {
          if (closed) return;
          closed = true;
          // Stops accepting; open keep-alive connections end with the process after drain.
          uws.us_listen_socket_close(listenSocket);
        },
      });
    });
  });
}
