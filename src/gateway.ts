/**
 * The composition root: builds every part from the configuration, starts them in dependency order
 * (store, authoriser, acceptor, HTTP side, links last so no frame arrives before its handler) and
 * stops them in reverse. `main.ts` adds only process concerns (signals, exit codes), so tests can
 * start and stop whole gateways in-process.
 */
import type pino from 'pino';
import type { GatewayConfig } from './config/schema';
import { defaultConfigDir } from './config/load-config';
import { createLogger, type Logger } from './log/logger';
import { createMetrics, type GatewayMetrics } from './metrics/registry';
import { AuthorisationMetrics } from './metrics/authorisation-metrics';
import { StageMetrics } from './metrics/stage-metrics';
import { Readiness } from './http/readiness';
import { startHttpServer, type HttpServer } from './http/http-server';
import { mountAdminApi } from './http/admin-api';
import { Authoriser } from './authorise/authoriser';
import { PanHasher, panHashKeyFromEnvironment } from './authorise/pan-protection';
import { Acceptor } from './acceptor/acceptor';
import { openStoreBackend, type StoreBackend } from './store/backend';
import { loadSeed } from './store/seed';
import { HoldExpirySweeper } from './authorise/hold-expiry-sweeper';
import { loadDialect } from './iso8583';
import { startLinks, validateLinkConfigs, type LinkSupervisor } from './network-link';

export interface GatewayOptions {
  config: GatewayConfig;
  /** Log destination override, for tests that read the log lines back. */
  logDestination?: pino.DestinationStream;
  /** Environment for secrets (admin token, PAN hash key); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Where config/ files named by the configuration live (seed file). */
  configDir?: string;
}

export interface RunningGateway {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly readiness: Readiness;
  readonly httpPort: number;
  readonly links: LinkSupervisor;
  readonly backend: StoreBackend;
  /** Bound port of a server-mode link, by name (port 0 in config resolves here). */
  linkPort(name: string): number | undefined;
  /** Graceful stop: not ready, drain the links within the bound, close the HTTP side and store. */
  stop(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const env = options.env ?? process.env;
  const logger = createLogger(
    options.logDestination === undefined
      ? { level: config.log.level }
      : { level: config.log.level, destination: options.logDestination });
  const metrics = createMetrics();
  const readiness = new Readiness();
  const linkConfigs = validateLinkConfigs(config.links);

  const panKey = panHashKeyFromEnvironment(env);
  if (panKey.isDevelopmentKey) {
    logger.warn('GATEWAY_PAN_HASH_KEY is not set: using the development key; never do this in production');
  }
  const panHasher = new PanHasher(panKey.key);

  const backend = await openStoreBackend(config, logger.child({ part: 'store' }), metrics.registry);
  if (config.seedFile !== '') {
    const summary = await loadSeed(config.seedFile, options.configDir ?? defaultConfigDir(), backend, panHasher,
      config.authorise.cardDefaults);
    logger.info(summary, 'demo accounts and cards loaded');
  }

  const stages = new StageMetrics(metrics.registry);
  const authoriser = new Authoriser({
    stages,
    cards: backend.cards, ledger: backend.ledger, shards: backend.shards, decisions: backend.decisions, panHasher,
    settings: { holdExpiryDays: config.authorise.holdExpiryDays, recentDecisions: config.authorise.recentDecisions },
  });
  const acceptor = new Acceptor(authoriser, {
    budgetMs: config.authorise.budgetMs,
    deadlineMarginMs: config.authorise.deadlineMarginMs,
    standIn: config.authorise.standIn,
    shedding: config.authorise.shedding.enabled ? config.authorise.shedding : undefined,
  }, new AuthorisationMetrics(metrics.registry, config.authorise.budgetMs), logger.child({ part: 'acceptor' }),
  stages);
  const sweeper = new HoldExpirySweeper(backend.ledger, backend.shards, config.authorise.sweepIntervalMs,
    logger.child({ part: 'sweeper' }));

  const adminToken = env['GATEWAY_ADMIN_TOKEN'];
  if (adminToken === undefined || adminToken === '') {
    logger.warn('GATEWAY_ADMIN_TOKEN is not set: every /v1 admin API call will be refused (401)');
  }
  const http: HttpServer = await startHttpServer({
    host: config.http.host,
    port: config.http.port,
    registry: metrics.registry,
    readiness,
    logger: logger.child({ part: 'http' }),
    mountRoutes: (app) => mountAdminApi(app, {
      adminToken, cards: backend.cards, ledger: backend.ledger, shards: backend.shards,
      decisions: backend.decisions, panHasher, cardDefaults: config.authorise.cardDefaults, acceptor,
      dialect: loadDialect(linkConfigs[0]?.dialect ?? 'ascii'), logger: logger.child({ part: 'admin' }),
    }),
  });
  logger.info({ host: config.http.host, port: http.port }, 'http side listening');

  let links: LinkSupervisor;
  try {
    links = await startLinks(linkConfigs, { handler: acceptor, registry: metrics.registry,
      logger: logger.child({ part: 'link' }) });
  } catch (error) {
    http.close();
    await backend.close();
    throw error;
  }
  readiness.register('links', () => links.isReady());
  readiness.register('shards', () => backend.shards.isReady());
  for (const name of Object.keys(backend.health())) readiness.register(name, () => backend.health()[name] === true);
  sweeper.start();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      readiness.markDraining();
      metrics.up.set(0);
      logger.info({ drainTimeoutMs: config.shutdown.drainTimeoutMs }, 'draining');
      sweeper.stop();
      await links.drain(config.shutdown.drainTimeoutMs);
      const idle = await acceptor.whenIdle(config.shutdown.drainTimeoutMs);
      if (!idle) logger.warn({ inflight: acceptor.inflight }, 'drain bound reached with decisions in flight');
      if (!await authoriser.correctionsWritten(config.shutdown.drainTimeoutMs)) {
        logger.warn('drain bound reached with correcting decision records still being written');
      }
      acceptor.close();
      http.close();
      await backend.close();
      logger.info('stopped');
      logger.flush();
    })();
    return stopping;
  };

  return {
    config, logger, metrics, readiness, httpPort: http.port, links, backend, stop,
    linkPort: (name) => links.status(name)?.listening?.port,
  };
}
