/**
 * Shards of the account space and who may change them.
 *
 * Accounts map to a fixed number of shards by a hash of the account id. Each shard has at most one
 * owner instance at a time, elected through an etcd lease (stack) or trivially this process
 * (embedded). The owner's election revision is the shard's fencing token: every ledger write
 * carries the token the writer believes current, and the ledger refuses a token older than the
 * newest it has seen, so a paused or partitioned instance cannot change holds after a new owner
 * claimed the shard.
 *
 * Owners run the shard's multi-step work (loading balances, the expiry sweep, a rebuild from the
 * durable record). Every live instance may place holds in any shard that has a live owner, with
 * that owner's token, in one atomic ledger step; a shard with no live owner answers 91.
 */
export interface ShardDirectory {
  readonly shardCount: number;
  shardOf(accountId: string): number;
  /** Token to carry into writes for the shard now; undefined when it has no live owner. */
  currentToken(shard: number): number | undefined;
  /** Whether this instance owns the shard (runs its sweep and rebuilds). */
  ownsShard(shard: number): boolean;
  /** Every shard has a live owner and this instance's view of ownership is fresh. */
  isReady(): boolean;
  close(): Promise<void>;
}

/**
 * Stable shard of an account: 32-bit FNV-1a of its id, modulo the shard count. Not cryptographic
 * (nothing secret is hashed; account ids are ours), just stable across processes and releases and
 * cheap on the hot path: a few nanoseconds a character, no allocation.
 */
export function shardOfAccount(accountId: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < accountId.length; i++) {
    hash ^= accountId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shardCount;
}

/** The embedded default: one process owns every shard for ever, with token 1. */
export class SingleProcessShardDirectory implements ShardDirectory {
  constructor(readonly shardCount: number) {}

  shardOf(accountId: string): number {
    return shardOfAccount(accountId, this.shardCount);
  }

  currentToken(): number {
    return 1;
  }

  ownsShard(): boolean {
    return true;
  }

  isReady(): boolean {
    return true;
  }

  async close(): Promise<void> {}
}
