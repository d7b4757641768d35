/**
 * One etcd lease kept alive, with the instant up to which it is certainly still alive, measured on
 * this process's monotonic clock.
 *
 * etcd3's own `lost` event fires only after 2 × TTL without a keepalive (microsoft/etcd3#155), a
 * full TTL after the server may have given our keys to someone else. So we keep our own count:
 * the server restarts the lease's TTL when it receives a keepalive, which is after we sent it, so
 * "sent time of the newest acknowledged keepalive + TTL" is never later than the server's expiry.
 * The owner stops acting a safety margin before that (clock rates differ slightly between hosts,
 * and work in progress needs time to stop). An etcd leader change only extends leases (#9395), so
 * it cannot make this bound unsafe.
 */
import { performance } from 'node:perf_hooks';
import type { Etcd3, Lease } from 'etcd3';

export class LeaseKeeper {
  /** Monotonic ms at which the newest acknowledged grant/keepalive was sent. */
  private confirmedAt: number;
  /** Send times of keepalives not yet answered, oldest first (answers come in order on a stream). */
  private readonly unanswered: number[] = [];
  private lost = false;

  private constructor(private readonly lease: Lease, readonly leaseId: string, readonly ttlMs: number,
    sentAt: number) {
    this.confirmedAt = sentAt;
  }

  /** Grants a lease and keeps it alive; `onLost` runs once if etcd says it is gone. */
  static async grant(client: Etcd3, ttlSeconds: number, onLost: () => void): Promise<LeaseKeeper> {
    const sentAt = performance.now();
    const lease = client.lease(ttlSeconds, { autoKeepAlive: true });
    // etcd3 emits 'lost' when the grant itself fails; the rejection of grant() reports that case.
    lease.on('lost', () => undefined);
    let leaseId: string;
    try {
      leaseId = await lease.grant();
    } catch (error: unknown) {
      lease.release();
      throw error;
    }
    const keeper = new LeaseKeeper(lease, leaseId, ttlSeconds * 1000, sentAt);
    lease.on('keepaliveEstablished', () => {
      keeper.unanswered.length = 0;
    });
    lease.on('keepaliveFired', () => {
      keeper.unanswered.push(performance.now());
    });
    lease.on('keepaliveSucceeded', () => {
      const sent = keeper.unanswered.shift();
      if (sent !== undefined && sent > keeper.confirmedAt) keeper.confirmedAt = sent;
    });
    lease.on('lost', () => {
      if (keeper.lost) return;
      keeper.lost = true;
      onLost();
    });
    return keeper;
  }

  /** Monotonic ms before which the lease is certainly alive on the server. */
  aliveUntil(): number {
    return this.lost ? -Infinity : this.confirmedAt + this.ttlMs;
  }

  /** Monotonic ms of the last confirmation (send time of the newest answered keepalive). */
  lastConfirmedAt(): number {
    return this.lost ? -Infinity : this.confirmedAt;
  }

  isLost(): boolean {
    return this.lost;
  }

  /** Stops keepalives and asks etcd to drop the lease, deleting its keys at once. Best effort. */
  async revoke(): Promise<void> {
    this.lost = true;
    try {
      await this.lease.revoke();
    } catch {
      // etcd unreachable: the lease expires by itself within its TTL.
    }
  }

  /** Stops keepalives without telling etcd (the lease expires after its TTL). */
  release(): void {
    this.lost = true;
    this.lease.release();
  }
}
