/**
 * Shard ownership through etcd: one lease per instance, one owner key per shard, the owner key's
 * create revision as the shard's fencing token. Design and takeover timeline:
 * docs/holds-and-fencing.md.
 *
 * - Campaign: a Txn "if the owner key does not exist, create it bound to my lease". etcd3's
 *   `lock()` is not used: it is try-once, hides the revision and holds its own 30 s lease
 *   (reliability-notes §1.5). The Txn's revision is the new key's create revision: the token.
 * - Gain: the new owner records the token in the ledger (`claimShard`: older tokens are refused
 *   from then on), runs the `onShardGained` listeners (a rebuild, later), and only then marks the
 *   key "serving". Until then no instance hands out a token for the shard, so it answers 91.
 * - Self-fence: the owner stops acting at (send time of the newest acknowledged keepalive + TTL −
 *   margin) on the monotonic clock, never later than etcd can expire the lease; then it revokes
 *   that lease and starts over with a new one. It does not wait for etcd3's `lost` event.
 * - View: a watch on the owner keys plus a full read every TTL/3. When neither the view nor this
 *   instance's lease was confirmed within the TTL, every shard answers "no owner" (undefined).
 * - Redis data loss: the owner checks every refresh that the ledger still holds its token; when it
 *   does not (an empty Redis), it claims the shard again and reruns the gain listeners.
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import { shardOfAccount, type ShardDirectory } from '../../authorise/shard-directory';
import { createEtcdClient, DEFAULT_ETCD_CALL_DEADLINE_MS } from './etcd-client';
import { LeaseKeeper } from './lease-keeper';
import { encodeOwner, ShardView } from './shard-view';

/** What the directory needs from the ledger: recording a new owner's token (and reading it back). */
export interface ShardFence {
  claimShard(shard: number, fencingToken: number): Promise<void>;
  /** The token the ledger holds for the shard; undefined when it holds none (data loss). */
  fenceTokenOf?(shard: number): Promise<number | undefined>;
}

/** Runs when this instance gains a shard, after claimShard and before the shard is served. */
export type ShardGainedListener = (shard: number, fencingToken: number) => Promise<void> | void;
/** Runs when this instance stops owning a shard (lease lost, self-fenced, superseded, closing). */
export type ShardLostListener = (shard: number, fencingToken: number) => void;

export interface EtcdShardDirectoryOptions {
  endpoints: readonly string[];
  shardCount: number;
  /** Key prefix in etcd; must end with '/'. */
  prefix?: string;
  /** Unique per process; shown in the owner keys. */
  instanceId?: string;
  /** Lease TTL in whole seconds (etcd's granularity). */
  leaseTtlSeconds?: number;
  /** The owner stops acting this long before its lease can expire. */
  selfFenceMarginMs?: number;
  callDeadlineMs?: number;
  /** How often the view is re-read and free shards are campaigned for; default TTL/3. */
  refreshIntervalMs?: number;
}

/** 3 s: a dead owner's shards move within about 3 s (reliability-notes, implication 4: 3-5 s),
 * while three keepalives per TTL ride out a lost packet or a short GC pause. */
const DEFAULT_LEASE_TTL_SECONDS = 3;
/** 500 ms of the TTL is kept back: enough to stop a sweep batch in flight (a few ms) on a host
 * whose clock runs a little fast, without giving up most of the TTL on every keepalive gap. */
const DEFAULT_SELF_FENCE_MARGIN_MS = 500;

export class EtcdShardDirectory implements ShardDirectory {
  readonly shardCount: number;
  readonly instanceId: string;
  private readonly ttlMs: number;
  private readonly ttlSeconds: number;
  private readonly marginMs: number;
  private readonly refreshIntervalMs: number;
  private readonly callDeadlineMs: number;
  private readonly view: ShardView;
  private readonly owned: Uint8Array;
  private readonly ownedToken: Float64Array;
  private readonly busy: Uint8Array;
  private readonly gainedListeners: ShardGainedListener[] = [];
  private readonly lostListeners: ShardLostListener[] = [];
  private keeper: LeaseKeeper | undefined;
  private renewing: Promise<void> | undefined;
  private watcher: Watcher | undefined;
  private viewConfirmedAt = -Infinity;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private verifying = false;
  private closed = false;

  private constructor(private readonly client: Etcd3, private readonly fence: ShardFence,
    options: EtcdShardDirectoryOptions) {
    if (!Number.isInteger(options.shardCount) || options.shardCount < 1) {
      throw new RangeError(`shardCount must be a positive integer, got ${options.shardCount}`);
    }
    this.ttlSeconds = options.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
    if (!Number.isInteger(this.ttlSeconds) || this.ttlSeconds < 1) {
      throw new RangeError(`leaseTtlSeconds must be a whole number of seconds >= 1, got ${this.ttlSeconds}`);
    }
    this.shardCount = options.shardCount;
    this.instanceId = options.instanceId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.ttlMs = this.ttlSeconds * 1000;
    this.marginMs = options.selfFenceMarginMs ?? DEFAULT_SELF_FENCE_MARGIN_MS;
    if (this.marginMs >= this.ttlMs) throw new RangeError('selfFenceMarginMs must be shorter than the lease TTL');
    this.refreshIntervalMs = options.refreshIntervalMs ?? Math.floor(this.ttlMs / 3);
    this.callDeadlineMs = options.callDeadlineMs ?? DEFAULT_ETCD_CALL_DEADLINE_MS;
    const prefix = options.prefix ?? '/authorisation-gateway/';
    this.view = new ShardView(this.shardCount, `${prefix}shards/`);
    this.owned = new Uint8Array(this.shardCount);
    this.ownedToken = new Float64Array(this.shardCount);
    this.busy = new Uint8Array(this.shardCount);
  }

  /**
   * Connects, takes a lease, reads and watches ownership, and campaigns once for free shards.
   * Resolves once that first round is done (it may own no shard: another instance may hold them).
   */
  static async start(options: EtcdShardDirectoryOptions, fence: ShardFence): Promise<EtcdShardDirectory> {
    const client = createEtcdClient(options.endpoints, options.callDeadlineMs ?? DEFAULT_ETCD_CALL_DEADLINE_MS);
    const directory = new EtcdShardDirectory(client, fence, options);
    try {
      directory.keeper = await LeaseKeeper.grant(client, directory.ttlSeconds, () => directory.onLeaseLost());
      const revision = await directory.readView();
      await directory.startWatch(revision);
      await directory.refresh();
      directory.refreshTimer = setInterval(() => {
        void directory.refresh();
      }, directory.refreshIntervalMs);
      return directory;
    } catch (error: unknown) {
      await directory.close();
      throw error;
    }
  }

  onShardGained(listener: ShardGainedListener): void {
    this.gainedListeners.push(listener);
  }

  onShardLost(listener: ShardLostListener): void {
    this.lostListeners.push(listener);
  }

  shardOf(accountId: string): number {
    return shardOfAccount(accountId, this.shardCount);
  }

  currentToken(shard: number): number | undefined {
    const now = performance.now();
    const keeper = this.keeper;
    if (keeper === undefined || now - keeper.lastConfirmedAt() > this.ttlMs) return undefined;
    if (this.owned[shard] === 1) {
      return now < keeper.aliveUntil() - this.marginMs ? this.ownedToken[shard] : undefined;
    }
    if (now - this.viewConfirmedAt > this.ttlMs) return undefined;
    if (this.view.serving[shard] !== 1) return undefined;
    // A key of ours from an earlier lease is doomed (that lease was revoked or is expiring).
    if (this.view.ownerInstance[shard] === this.instanceId) return undefined;
    return this.view.tokens[shard];
  }

  ownsShard(shard: number): boolean {
    const keeper = this.keeper;
    return this.owned[shard] === 1 && keeper !== undefined && performance.now() < keeper.aliveUntil() - this.marginMs;
  }

  /** Shards this instance owns now. */
  ownedShards(): number[] {
    const shards: number[] = [];
    for (let shard = 0; shard < this.shardCount; shard += 1) if (this.ownsShard(shard)) shards.push(shard);
    return shards;
  }

  isReady(): boolean {
    if (this.closed) return false;
    for (let shard = 0; shard < this.shardCount; shard += 1) {
      if (this.currentToken(shard) === undefined) return false;
    }
    return true;
  }

  /**
   * Runs the gain again for every owned shard (mark it claiming, claimShard, gain listeners, serve):
   * for when the ledger's store was replaced and may have lost acknowledged writes (wire it to
   * RedisLedger.onStoreReplaced). The shards answer 91 meanwhile, as during a takeover.
   */
  rebuildOwnedShards(): void {
    for (let shard = 0; shard < this.shardCount; shard += 1) {
      if (this.owned[shard] === 1) void this.regain(shard, this.ownedToken[shard]!);
    }
  }

  /** Resolves true once isReady(), or false after timeoutMs (start-up, tests). */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.isReady()) {
      if (this.closed || performance.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }

  /** The lease this instance holds now (for diagnostics and tests). */
  leaseId(): string | undefined {
    return this.keeper?.leaseId;
  }

  /** Stops serving, hands every owned shard back at once (lease revoked), and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.refreshTimer !== undefined) clearInterval(this.refreshTimer);
    this.dropAll();
    const keeper = this.keeper;
    this.keeper = undefined;
    // Cancelling a watch is a stream message with no deadline: bounded here, then the client closes.
    await Promise.allSettled([boundedWait(this.watcher?.cancel(), this.callDeadlineMs), keeper?.revoke()]);
    this.client.close();
  }

  /** One maintenance round: lease health, the full read, campaigns, and the ledger's tokens. */
  private async refresh(): Promise<void> {
    if (this.refreshing || this.closed) return;
    this.refreshing = true;
    try {
      this.checkLease();
      await this.readView().catch(() => undefined);
      this.dropSuperseded();
      if (this.leaseUsable()) {
        // Not awaited: a gain runs its listeners (a rebuild, later), and the view must keep being
        // refreshed meanwhile. Per-shard busy flags keep campaigns from overlapping.
        for (let shard = 0; shard < this.shardCount; shard += 1) {
          if (this.view.tokens[shard] === 0) void this.campaign(shard);
        }
        if (!this.verifying) {
          this.verifying = true;
          void this.verifyLedgerTokens().finally(() => {
            this.verifying = false;
          });
        }
      }
    } finally {
      this.refreshing = false;
    }
  }

  /** Reads every owner key; the view counts as confirmed from the moment the read was sent. */
  private async readView(): Promise<number> {
    const sentAt = performance.now();
    const response = await this.client.getAll().prefix(this.view.ownerKeyPrefix).exec();
    const revision = Number(response.header.revision);
    this.view.applySnapshot(revision, response.kvs);
    this.viewConfirmedAt = Math.max(this.viewConfirmedAt, sentAt);
    return revision;
  }

  private async startWatch(revision: number): Promise<void> {
    const watcher = await this.client.watch()
      .prefix(this.view.ownerKeyPrefix)
      .startRevision(String(revision + 1))
      .create();
    // Reconnection is etcd3's job; the periodic full read covers anything a reconnect misses.
    watcher.on('error', () => undefined);
    watcher.on('data', (response: IWatchResponse) => this.onWatchEvents(response));
    this.watcher = watcher;
  }

  private onWatchEvents(response: IWatchResponse): void {
    const eventRevision = Number(response.header.revision);
    for (const event of response.events) {
      if (event.type === 'Put') {
        this.view.applyPut(event.kv);
        continue;
      }
      const shard = this.view.applyDelete(event.kv, eventRevision);
      if (shard < 0) continue;
      if (this.owned[shard] === 1) this.drop(shard);
      // The owner is gone: take over now rather than at the next refresh.
      if (this.leaseUsable()) void this.campaign(shard);
    }
    this.dropSuperseded();
  }

  /** Creates the owner key if absent; on success, completes the gain. */
  private async campaign(shard: number): Promise<void> {
    const keeper = this.keeper;
    if (this.busy[shard] === 1 || this.owned[shard] === 1 || keeper === undefined || this.closed) return;
    this.busy[shard] = 1;
    try {
      const key = this.view.ownerKey(shard);
      const claiming = encodeOwner({ instance: this.instanceId, lease: keeper.leaseId, state: 'claiming' });
      const result = await this.client.if(key, 'Create', '==', 0)
        .then(this.client.put(key).value(claiming).lease(keeper.leaseId))
        .commit();
      if (!result.succeeded) return;
      await this.completeGain(shard, Number(result.header.revision), keeper);
    } catch {
      // etcd or the ledger unavailable: the next refresh campaigns again.
    } finally {
      this.busy[shard] = 0;
    }
  }

  /**
   * Claims the token in the ledger, runs the gain listeners and publishes "serving". On any failure
   * the key is deleted (if still ours) so the shard is not left owned by an instance not serving it.
   */
  private async completeGain(shard: number, token: number, keeper: LeaseKeeper): Promise<void> {
    const key = this.view.ownerKey(shard);
    try {
      await this.fence.claimShard(shard, token);
      for (const listener of this.gainedListeners) await listener(shard, token);
      if (!this.isCurrentLease(keeper) || performance.now() >= keeper.aliveUntil() - this.marginMs) {
        throw new Error('lease lost while gaining the shard');
      }
      const serving = encodeOwner({ instance: this.instanceId, lease: keeper.leaseId, state: 'serving' });
      const published = await this.client.if(key, 'Create', '==', token)
        .then(this.client.put(key).value(serving).lease(keeper.leaseId))
        .commit();
      if (!published.succeeded) return;
      this.ownedToken[shard] = token;
      this.owned[shard] = 1;
    } catch (error: unknown) {
      await this.client.if(key, 'Create', '==', token).then(this.client.delete().key(key)).commit()
        .catch(() => undefined);
      throw error;
    }
  }

  /** An owned shard whose ledger lost our token (Redis restarted empty) is claimed and rebuilt again. */
  private async verifyLedgerTokens(): Promise<void> {
    const readToken = this.fence.fenceTokenOf?.bind(this.fence);
    if (readToken === undefined) return;
    const checks: Promise<void>[] = [];
    for (let shard = 0; shard < this.shardCount; shard += 1) {
      if (this.owned[shard] !== 1 || this.busy[shard] === 1) continue;
      const token = this.ownedToken[shard]!;
      checks.push(readToken(shard).then(async (stored) => {
        if (stored !== undefined && stored === token) return;
        if (stored !== undefined && stored > token) {
          this.drop(shard);
          return;
        }
        await this.regain(shard, token);
      }, () => undefined));
    }
    await Promise.all(checks);
  }

  private async regain(shard: number, token: number): Promise<void> {
    const keeper = this.keeper;
    if (keeper === undefined || this.busy[shard] === 1) return;
    this.busy[shard] = 1;
    this.drop(shard);
    try {
      const key = this.view.ownerKey(shard);
      const claiming = encodeOwner({ instance: this.instanceId, lease: keeper.leaseId, state: 'claiming' });
      const marked = await this.client.if(key, 'Create', '==', token)
        .then(this.client.put(key).value(claiming).lease(keeper.leaseId))
        .commit();
      if (marked.succeeded) await this.completeGain(shard, token, keeper);
    } catch {
      // Retried by the next refresh's campaign (the key was deleted) or check.
    } finally {
      this.busy[shard] = 0;
    }
  }

  /** Owned shards whose key the view shows recreated, or gone since we created it, are no longer ours. */
  private dropSuperseded(): void {
    for (let shard = 0; shard < this.shardCount; shard += 1) {
      if (this.owned[shard] !== 1) continue;
      const token = this.view.tokens[shard];
      const ownToken = this.ownedToken[shard]!;
      if (token !== 0 ? token !== ownToken : this.view.revisionOf(shard) > ownToken) this.drop(shard);
    }
  }

  private leaseUsable(): boolean {
    const keeper = this.keeper;
    return !this.closed && keeper !== undefined && performance.now() < keeper.aliveUntil() - this.marginMs;
  }

  private isCurrentLease(keeper: LeaseKeeper): boolean {
    return this.keeper === keeper && !keeper.isLost();
  }

  /** Self-fence when the lease may be about to expire, then start over with a new lease. */
  private checkLease(): void {
    if (this.closed || this.renewing !== undefined) return;
    const keeper = this.keeper;
    if (keeper !== undefined && performance.now() < keeper.aliveUntil() - this.marginMs) return;
    this.renewLease();
  }

  private onLeaseLost(): void {
    if (this.closed || this.renewing !== undefined) return;
    this.renewLease();
  }

  private renewLease(): void {
    const old = this.keeper;
    this.keeper = undefined;
    this.dropAll();
    this.renewing = (async () => {
      // Revoking deletes our owner keys at once, so other instances take over without waiting a TTL.
      if (old !== undefined) await old.revoke();
      if (this.closed) return;
      try {
        this.keeper = await LeaseKeeper.grant(this.client, this.ttlSeconds, () => this.onLeaseLost());
      } catch {
        // etcd unreachable: the next refresh tries again.
      }
    })().finally(() => {
      this.renewing = undefined;
    });
  }

  private dropAll(): void {
    for (let shard = 0; shard < this.shardCount; shard += 1) if (this.owned[shard] === 1) this.drop(shard);
  }

  private drop(shard: number): void {
    if (this.owned[shard] !== 1) return;
    this.owned[shard] = 0;
    const token = this.ownedToken[shard]!;
    for (const listener of this.lostListeners) {
      try {
        listener(shard, token);
      } catch {
        // A listener's failure must not keep the shard marked as owned.
      }
    }
  }
}

/** Waits for the promise, but no longer than ms. */
async function boundedWait(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (promise === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
