/**
 * Rebuilding a shard's balances and pending holds from Cassandra, for when Redis lost them (a restart
 * without persistence, a failover that dropped acknowledged writes) or a new owner takes the shard.
 *
 * The shard's owner calls rebuildShardFromCassandra under its etcd ownership, loads the result into
 * Redis with its fencing token (ShardRestoreTarget, implemented over the Redis ledger), and only then
 * serves the shard. Each account is one accounts row plus its postings since the stored balance and
 * its hold movement rows, folded as the ledger would have applied them (hold-movements.ts). Each
 * pending hold carries its idempotency key and references (DE 37, DE 38), so after the load a
 * repeat is recognised and a reversal still finds its hold.
 */
import type { AccountState, CassandraAccountStore, StoredAccount } from './account-store';

export interface RebuiltShard {
  shard: number;
  /** The time the holds were folded at: holds expiring by then are left out. */
  rebuiltAtMs: number;
  accounts: AccountState[];
}

/** What the lead implements over the Redis ledger to load a rebuilt account, fenced by the owner's token. */
export interface ShardRestoreTarget {
  restoreAccount(state: AccountState, shard: number, fencingToken: number): Promise<void>;
}

export interface RebuildOptions {
  nowMs?: number;
  /** Accounts folded in parallel: each is 2+ reads; 16 keeps a rebuild from crowding out live traffic. */
  concurrency?: number;
}

async function forEachBounded<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T);
    }
  };
  const workers: Promise<void>[] = [];
  for (let count = 0; count < Math.min(concurrency, Math.max(1, items.length)); count += 1) workers.push(worker());
  await Promise.all(workers);
  return results;
}

export async function rebuildShardFromCassandra(shard: number, store: CassandraAccountStore,
  options: RebuildOptions = {}): Promise<RebuiltShard> {
  const rebuiltAtMs = options.nowMs ?? Date.now();
  const stored = await store.accountsOfShard(shard);
  const accounts = await forEachBounded(stored, options.concurrency ?? 16,
    (account: StoredAccount) => store.accountState(account, rebuiltAtMs));
  return { shard, rebuiltAtMs, accounts };
}

/** Loads a rebuilt shard through the target, account by account, with the owner's fencing token. */
export async function restoreShard(target: ShardRestoreTarget, rebuilt: RebuiltShard, fencingToken: number,
  concurrency = 16): Promise<void> {
  await forEachBounded(rebuilt.accounts, concurrency,
    (state: AccountState) => target.restoreAccount(state, rebuilt.shard, fencingToken));
}

export { forEachBounded };
