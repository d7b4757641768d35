/**
 * This instance's picture of who owns each shard, built from etcd's owner keys.
 *
 * Two sources feed it: a watch (changes within milliseconds) and a periodic full read (confirms the
 * picture is current even when nothing changes, and repairs it if the watch silently missed
 * events: microsoft/etcd3#31/#72/#78). Each shard remembers the etcd revision of the newest fact it
 * holds, so an older full read never overwrites a newer watch event, whichever arrives first.
 *
 * Stored in typed arrays indexed by shard so the per-message read (`currentToken`) allocates nothing.
 */
import type { IKeyValue } from 'etcd3';

export type OwnerState = 'claiming' | 'serving';

/** The owner key's value: who holds the shard, under which lease, and whether it serves yet. */
export interface OwnerRecord {
  instance: string;
  lease: string;
  state: OwnerState;
}

export function encodeOwner(record: OwnerRecord): string {
  return JSON.stringify(record);
}

export function decodeOwner(value: Buffer | string): OwnerRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const instance: unknown = Reflect.get(parsed, 'instance');
  const lease: unknown = Reflect.get(parsed, 'lease');
  const state: unknown = Reflect.get(parsed, 'state');
  if (typeof instance !== 'string' || typeof lease !== 'string') return undefined;
  if (state !== 'claiming' && state !== 'serving') return undefined;
  return { instance, lease, state };
}

export class ShardView {
  /** The owner key's create revision (the fencing token), 0 when the shard has no owner key. */
  readonly tokens: Float64Array;
  /** 1 when the owner has claimed the shard in the ledger and serves it. */
  readonly serving: Uint8Array;
  readonly ownerInstance: (string | undefined)[];
  readonly ownerLease: (string | undefined)[];
  /** etcd revision of the newest fact applied per shard. */
  private readonly revisions: Float64Array;

  constructor(readonly shardCount: number, readonly ownerKeyPrefix: string) {
    this.tokens = new Float64Array(shardCount);
    this.serving = new Uint8Array(shardCount);
    this.ownerInstance = new Array<string | undefined>(shardCount).fill(undefined);
    this.ownerLease = new Array<string | undefined>(shardCount).fill(undefined);
    this.revisions = new Float64Array(shardCount);
  }

  ownerKey(shard: number): string {
    return `${this.ownerKeyPrefix}${shard}/owner`;
  }

  /** etcd revision of the newest fact known about the shard. */
  revisionOf(shard: number): number {
    return this.revisions[shard] ?? 0;
  }

  /** The shard an owner key names, or -1 for any other key under the prefix. */
  shardOfKey(key: Buffer | string): number {
    const text = key.toString();
    if (!text.startsWith(this.ownerKeyPrefix) || !text.endsWith('/owner')) return -1;
    const shard = Number(text.slice(this.ownerKeyPrefix.length, -'/owner'.length));
    return Number.isInteger(shard) && shard >= 0 && shard < this.shardCount ? shard : -1;
  }

  /** A put seen by the watch; returns the shard it concerned, or -1. */
  applyPut(kv: IKeyValue): number {
    const shard = this.shardOfKey(kv.key);
    if (shard < 0) return -1;
    const revision = Number(kv.mod_revision);
    if (revision < this.revisions[shard]!) return shard;
    this.revisions[shard] = revision;
    this.setOwner(shard, Number(kv.create_revision), decodeOwner(kv.value));
    return shard;
  }

  /** A delete seen by the watch (the owner's lease ended, or it resigned); returns the shard or -1. */
  applyDelete(kv: IKeyValue, eventRevision: number): number {
    const shard = this.shardOfKey(kv.key);
    if (shard < 0) return -1;
    const revision = Math.max(Number(kv.mod_revision), eventRevision);
    if (revision < this.revisions[shard]!) return shard;
    this.revisions[shard] = revision;
    this.setOwner(shard, 0, undefined);
    return shard;
  }

  /** A full read of every owner key at `revision`: shards it does not mention have no owner. */
  applySnapshot(revision: number, kvs: readonly IKeyValue[]): void {
    const present = new Uint8Array(this.shardCount);
    for (const kv of kvs) {
      const shard = this.shardOfKey(kv.key);
      if (shard < 0) continue;
      present[shard] = 1;
      if (Number(kv.mod_revision) < this.revisions[shard]! || revision < this.revisions[shard]!) continue;
      this.revisions[shard] = revision;
      this.setOwner(shard, Number(kv.create_revision), decodeOwner(kv.value));
    }
    for (let shard = 0; shard < this.shardCount; shard += 1) {
      if (present[shard] === 1 || revision < this.revisions[shard]!) continue;
      this.revisions[shard] = revision;
      this.setOwner(shard, 0, undefined);
    }
  }

  private setOwner(shard: number, token: number, owner: OwnerRecord | undefined): void {
    this.tokens[shard] = owner === undefined ? 0 : token;
    this.serving[shard] = owner?.state === 'serving' ? 1 : 0;
    this.ownerInstance[shard] = owner?.instance;
    this.ownerLease[shard] = owner?.lease;
  }
}
