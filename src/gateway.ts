/**
 * The composition root: builds every part from the configuration, starts them in dependency order
 * and stops them in reverse. `main.ts` adds only process concerns (signals, exit codes), so tests
 * can start and stop whole gateways in-process.
 */
import type { GatewayConfig } from './config/schema';
import { createLogger, type Logger } from './log/logger';
import { createMetrics, type GatewayMetrics } from './metrics/registry';
import { Readiness } from './http/readiness';
import { startHttpServer, type HttpServer } from './http/http-server';
import type pino from 'pino';

export interface GatewayOptions {
  config: GatewayConfig;
  /** Log destination override, for tests that read the log lines back. */
  logDestination?: pino.DestinationStream;
}

export interface RunningGateway {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly readiness: Readiness;
  readonly httpPort: number;
  /** Graceful stop: not ready, drain the links within the bound, close the HTTP side. */
  stop(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const logger = createLogger(
    options.logDestination === undefined
      ? { level: config.log.level }
      : { level: config.log.level, destination: options.logDestination });
  const metrics = createMetrics();
  const readiness = new Readiness();

  const http: HttpServer = await startHttpServer({
    host: config.http.host,
    port: config.http.port,
    registry: metrics.registry,
    readiness,
    logger: logger.child({ part: 'http' }),
  });
  logger.info({ host: config.http.host, port: http.port }, 'http side listening');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      readiness.markDraining();
      metrics.up.set(0);
      logger.info({ drainTimeoutMs: config.shutdown.drainTimeoutMs }, 'draining');
      http.close();
      logger.info('stopped');
      logger.flush();
    })();
    return stopping;
  };

  return { config, logger, metrics, readiness, httpPort: http.port, stop };
}
