/**
 * The full stack backend: Redis ledger and card directory, etcd shard ownership, Cassandra
 * decision log. Assembled here so the rest of the gateway sees only the interfaces.
 */
import type { GatewayConfig } from '../config/schema';
import type { Logger } from '../log/logger';
import type { StoreBackend } from './backend';

export async function openStackBackend(config: GatewayConfig, logger: Logger): Promise<StoreBackend> {
  void config;
  void logger;
  throw new Error('the stack backend is not assembled yet: use the embedded default (store.backend: embedded)');
}
