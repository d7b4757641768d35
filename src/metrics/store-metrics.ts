/**
 * Health of the store clients and of shard ownership, read at scrape time (collect callbacks) so
 * nothing is recorded on the hot path; and, registered apart by the stack backend, the Cassandra
 * write latency observed per append (storeWriteDuration).
 * Names are the ones the alert rules in config/alerts/ use.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface StoreHealthSource {
  /** Client health by store name (redis, etcd, cassandra). */
  health(): Record<string, boolean>;
  shardsWithoutOwner(): number;
  shardsOwned(): number;
  journalBacklog(): number;
  /** Hot decision batches sent to the durable store, and the decisions in them (group commit). */
  decisionBatches?(): { batches: number; decisions: number };
}

export class StoreMetrics {
  constructor(registry: Registry, source: StoreHealthSource) {
    new Gauge({
      name: 'gateway_store_client_up', help: 'Store client health: 1 when connected and usable.',
      labelNames: ['store'], registers: [registry],
      collect() {
        for (const [store, up] of Object.entries(source.health())) this.labels(store).set(up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gateway_shards_without_owner', help: 'Shards with no live owner: their accounts are answered 91.',
      registers: [registry], collect() { this.set(source.shardsWithoutOwner()); },
    });
    new Gauge({
      name: 'gateway_shards_owned', help: 'Shards this instance owns (runs their sweep and rebuilds).',
      registers: [registry], collect() { this.set(source.shardsOwned()); },
    });
    new Gauge({
      name: 'gateway_decision_journal_backlog', help: 'Decisions journaled locally and not yet replayed into Cassandra.',
      registers: [registry], collect() { this.set(source.journalBacklog()); },
    });
    const batches = source.decisionBatches;
    if (batches !== undefined) {
      // Their ratio over a window is the mean group size: near 1 at light load, larger as the store
      // gets busy (batch-group.ts).
      new Counter({
        name: 'gateway_decision_batches_total', help: 'Batches of decision records sent to Cassandra (group commit).',
        registers: [registry], collect() { this.reset(); this.inc(batches().batches); },
      });
      new Counter({
        name: 'gateway_decision_batched_records_total', help: 'Decision records sent to Cassandra in those batches.',
        registers: [registry], collect() { this.reset(); this.inc(batches().decisions); },
      });
    }
  }
}

/**
 * The embedded decision log's O_DSYNC write of one batch, timed in its writer thread: the disk's
 * part of the persist stage (the rest is waiting for the batch before, and the event loop noticing).
 */
export function decisionLogWriteDuration(registry: Registry): Histogram {
  return new Histogram({
    name: 'gateway_decision_log_write_seconds',
    help: 'Time of one O_DSYNC write of a batch of decisions to the embedded decision log, timed in its writer thread.',
    registers: [registry],
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1],
  });
}

/**
 * Time to make one decision record durable in `store`, registered only by a backend that has such a
 * store (the stack: Cassandra), so no backend exports an empty series for a store it does not use.
 */
export function storeWriteDuration(registry: Registry, store: string): Histogram.Internal<'store'> {
  const writes = new Histogram({
    name: 'gateway_store_write_duration_seconds', help: 'Time to make one decision record durable, by store.',
    labelNames: ['store'], registers: [registry],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 1],
  });
  return writes.labels(store);
}
