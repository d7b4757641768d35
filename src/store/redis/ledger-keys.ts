/**
 * Key names of the Redis ledger. Every key of a shard starts with "<prefix>:{<shard>}:" so they
 * share one hash tag: a Function call that touches an account, its holds and the shard's fence
 * stays inside one slot, as Redis Cluster requires. The Lua library builds the rest of the names
 * from the fence key it is given (see ledger-library.lua).
 */

export function shardKeyBase(prefix: string, shard: number): string {
  return `${prefix}:{${shard}}:`;
}

export function fenceKey(prefix: string, shard: number): string {
  return `${shardKeyBase(prefix, shard)}fence`;
}

/** Fence keys of every shard, computed once: the hot path indexes this array instead of formatting. */
export function fenceKeys(prefix: string, shardCount: number): string[] {
  const keys: string[] = [];
  for (let shard = 0; shard < shardCount; shard += 1) keys.push(fenceKey(prefix, shard));
  return keys;
}
