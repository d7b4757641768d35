/**
 * A write refused because the shard's fencing token in the store is newer than the writer's (or the
 * shard was never claimed in this store). Ledger `apply` answers this as the `fenced` outcome; the
 * admin-side methods, whose signatures have no outcome, throw this error instead.
 */
export class ShardFencedError extends Error {
  constructor(readonly shard: number, readonly fencingToken: number, readonly storedToken?: number) {
    super(
      storedToken === undefined
        ? `shard ${shard}: token ${fencingToken} refused, the shard is not claimed in this store`
        : `shard ${shard}: token ${fencingToken} refused, the store holds newer token ${storedToken}`,
    );
    this.name = 'ShardFencedError';
  }
}
