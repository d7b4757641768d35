/**
 * Chooses where balances, holds, cards and decisions live, behind the same interfaces:
 * - embedded (the default, `npm start`): everything in this process, decisions in an fsync'd file;
 * - stack (`npm run start:stack`): Redis for balances, holds and cards, etcd for shard ownership,
 *   Cassandra for decisions.
 */
import type { GatewayConfig } from '../config/schema';
import type { CardDirectory } from '../authorise/card-directory';
import { InMemoryCardDirectory } from '../authorise/card-directory';
import type { DecisionLog } from '../authorise/decision-log';
import type { Ledger } from '../authorise/ledger';
import { MemoryLedger } from '../authorise/memory-ledger';
import { SingleProcessShardDirectory, type ShardDirectory } from '../authorise/shard-directory';
import type { Logger } from '../log/logger';
import type { Registry } from 'prom-client';
import { StoreMetrics, decisionLogWriteDuration } from '../metrics/store-metrics';
import { FileDecisionLog } from './file-decision-log';

const DAY_MS = 86_400_000;

export interface StoreBackend {
  ledger: Ledger;
  cards: CardDirectory;
  shards: ShardDirectory;
  decisions: DecisionLog;
  /** Health of each client (stack) or of the decision log's writer (embedded), for /readyz and metrics. */
  health(): Record<string, boolean>;
  close(): Promise<void>;
}

/** Idempotency outcomes outlive the holds they protect by a day, so a late repeat still replays. */
export function retentionMs(config: GatewayConfig): number {
  return (config.authorise.holdExpiryDays + 1) * DAY_MS;
}

export async function openStoreBackend(config: GatewayConfig, logger: Logger, registry: Registry): Promise<StoreBackend> {
  if (config.store.backend === 'stack') {
    const { openStackBackend } = await import('./stack-backend');
    return openStackBackend(config, logger, registry);
  }
  const ledger = new MemoryLedger({ retentionMs: retentionMs(config) });
  const cards = new InMemoryCardDirectory();
  const shards = new SingleProcessShardDirectory(config.authorise.shardCount);
  for (let shard = 0; shard < shards.shardCount; shard++) await ledger.claimShard(shard, 1);
  const writeSeconds = decisionLogWriteDuration(registry);
  const decisions = new FileDecisionLog({
    path: config.store.embedded.decisionLogPath, recentPerCard: 100, maxKeys: config.authorise.recentDecisions,
    onBatchWritten: (seconds) => writeSeconds.observe(seconds),
    onWriterFailure: (error) => logger.error({ err: error }, 'decision log writer thread died: no decision can be made durable'),
  });
  logger.info({ decisionLogPath: config.store.embedded.decisionLogPath }, 'embedded store opened');
  // The writer thread is the embedded store's one moving part: without it nothing is durable.
  const health = (): Record<string, boolean> => ({ decisionLog: decisions.writable });
  // The same store gauges as the stack (gateway_store_client_up{store="decisionLog"} among them), so
  // one dashboard and one set of alert rules serve both; this process owns every shard.
  new StoreMetrics(registry, {
    health, shardsWithoutOwner: () => 0, shardsOwned: () => shards.shardCount, journalBacklog: () => 0,
  });
  return {
    ledger, cards, shards, decisions,
    health,
    close: async () => {
      await decisions.close();
      await ledger.close();
    },
  };
}
