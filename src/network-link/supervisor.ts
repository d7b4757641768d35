/**
 * Starts every configured link and gives the rest of the gateway one handle on them: readiness for
 * /readyz, per-link status, and a bounded graceful drain for SIGTERM.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { loadDialect, type Dialect } from '../iso8583';
import type { LinkConfig } from './config';
import { ClientLink } from './client-link';
import { LinkBase, type LinkStatus } from './link-base';
import type { SchemeRequestHandler } from './link-exchange';
import { LinkMetrics } from './link-metrics';
import { ServerLink } from './server-link';

export interface LinkDependencies {
  /** The acceptor: receives every financial request, answers through the exchange. */
  handler: SchemeRequestHandler;
  registry: Registry;
  logger: Logger;
  /** Where dialect files live; the codec's default (config/dialects) when absent. */
  dialectDir?: string;
}

export class LinkSupervisor {
  private readonly links: readonly LinkBase[];
  private drained: Promise<void> | null = null;

  constructor(links: readonly LinkBase[]) {
    this.links = links;
  }

  /** Ready when every link is: server links listening, client links signed on; none draining. */
  isReady(): boolean {
    return this.links.length > 0 && this.links.every((link) => link.isReady());
  }

  statuses(): LinkStatus[] {
    return this.links.map((link) => link.status());
  }

  status(name: string): LinkStatus | undefined {
    return this.links.find((link) => link.config.name === name)?.status();
  }

  /**
   * Graceful drain of every link at once, bounded by `timeoutMs`: stop accepting, sign off, let
   * in-flight requests finish, close. Connections still open at the bound are closed hard.
   * Calling it again returns the same promise.
   */
  drain(timeoutMs: number): Promise<void> {
    if (this.drained === null) {
      this.drained = Promise.all(this.links.map((link) => link.drain(timeoutMs))).then(() => undefined);
    }
    return this.drained;
  }
}

/**
 * Validated configs in (see validateLinkConfigs), running links out. Rejects, after stopping any
 * link it had started, when a dialect does not load or a listener cannot bind.
 */
export async function startLinks(configs: readonly LinkConfig[], deps: LinkDependencies): Promise<LinkSupervisor> {
  const dialects = new Map<string, Dialect>();
  const links: LinkBase[] = configs.map((config) => {
    let dialect = dialects.get(config.dialect);
    if (dialect === undefined) {
      dialect = loadDialect(config.dialect, deps.dialectDir);
      dialects.set(config.dialect, dialect);
    }
    const parts = {
      config,
      dialect,
      metrics: new LinkMetrics(deps.registry, config.name),
      logger: deps.logger.child({ link: config.name }),
      handler: deps.handler,
    };
    return config.mode === 'server' ? new ServerLink(parts) : new ClientLink(parts);
  });
  const supervisor = new LinkSupervisor(links);
  try {
    for (const link of links) await link.start();
  } catch (error: unknown) {
    await supervisor.drain(0);
    throw error;
  }
  return supervisor;
}
