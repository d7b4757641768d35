/**
 * Reconciliation as a periodic job: for the shards this instance owns, compare the holds and
 * balances Redis reports with what Cassandra's record says they must be (src/store/cassandra/
 * reconciliation.ts). Every difference is a warn log line and counts in a gauge by kind, so an
 * alert can fire on any non-zero value. Differences seen only once (a decision in flight between
 * its ledger step and its record) are re-checked before they count.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Ledger } from '../authorise/ledger';
import type { ShardDirectory } from '../authorise/shard-directory';
import type { Logger } from '../log/logger';
import { reconcileHolds, type CassandraAccountStore, type ReconciliationReport } from './cassandra';

/** A decision's ledger step and its record are a few milliseconds apart; a second look after this settles it. */
const CONFIRM_AFTER_MS = 2_000;

const DIFFERENCE_KINDS = ['account-missing-in-ledger', 'account-missing-in-store', 'balance-mismatch',
  'hold-missing-in-ledger', 'hold-missing-in-store', 'hold-amount-mismatch'] as const;

export async function reconcileShards(ledger: Pick<Ledger, 'getAccount'>, accounts: CassandraAccountStore,
  shards: readonly number[]): Promise<ReconciliationReport> {
  const accountIds: string[] = [];
  for (const shard of shards) {
    for (const stored of await accounts.accountsOfShard(shard)) accountIds.push(stored.account.accountId);
  }
  return reconcileHolds(ledger, accounts, accountIds, { confirmAfterMs: CONFIRM_AFTER_MS });
}

export class ReconciliationJob {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly differences: Gauge<'kind'>;

  constructor(private readonly ledger: Pick<Ledger, 'getAccount'>, private readonly accounts: CassandraAccountStore,
    private readonly shards: ShardDirectory & { ownedShards(): number[] }, private readonly intervalMs: number,
    private readonly logger: Logger, registry: Registry) {
    this.differences = new Gauge({
      name: 'gateway_reconciliation_differences',
      help: 'Differences between Redis holds and Cassandra\'s record found by the last reconciliation, by kind.',
      labelNames: ['kind'], registers: [registry],
    });
    for (const kind of DIFFERENCE_KINDS) this.differences.labels(kind).set(0);
  }

  start(): void {
    this.timer = setInterval(() => { void this.runOnce(); }, this.intervalMs);
    this.timer.unref();
  }

  async runOnce(): Promise<ReconciliationReport | undefined> {
    if (this.running) return undefined;
    this.running = true;
    try {
      const report = await reconcileShards(this.ledger, this.accounts, this.shards.ownedShards());
      const counts = new Map<string, number>();
      for (const difference of report.differences) {
        counts.set(difference.kind, (counts.get(difference.kind) ?? 0) + 1);
        this.logger.warn({ difference }, 'reconciliation: Redis and Cassandra disagree');
      }
      for (const kind of DIFFERENCE_KINDS) this.differences.labels(kind).set(counts.get(kind) ?? 0);
      this.logger.info({ checkedAccounts: report.checkedAccounts, differences: report.differences.length },
        'reconciliation finished');
      return report;
    } catch (error) {
      this.logger.warn({ err: error }, 'reconciliation failed; will retry next interval');
      return undefined;
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
