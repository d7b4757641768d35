/**
 * Releases holds past their expiry (default 7 days). Runs on every instance but sweeps only the
 * shards this instance owns, with the shard's fencing token, so exactly one elected owner sweeps
 * each shard and a deposed owner's late sweep is refused by the ledger.
 */
import type { Ledger } from './ledger';
import type { ShardDirectory } from './shard-directory';
import type { Logger } from '../log/logger';

export class HoldExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly ledger: Ledger, private readonly shards: ShardDirectory,
    private readonly intervalMs: number, private readonly logger: Logger,
    private readonly nowMs: () => number = Date.now) {}

  start(): void {
    this.timer = setInterval(() => { void this.sweepOnce(); }, this.intervalMs);
    // The sweep must not keep a draining process alive.
    this.timer.unref();
  }

  /** One pass over the owned shards; returns how many holds it released. */
  async sweepOnce(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let released = 0;
    const nowMs = this.nowMs();
    try {
      for (let shard = 0; shard < this.shards.shardCount; shard++) {
        if (!this.shards.ownsShard(shard)) continue;
        const token = this.shards.currentToken(shard);
        if (token === undefined) continue;
        const report = await this.ledger.expireHolds(shard, nowMs, token);
        released += report.expired.length;
        for (const hold of report.expired) {
          this.logger.info({ holdId: hold.holdId, accountId: hold.accountId, amountMinor: hold.amountMinor },
            'hold expired and released');
        }
      }
      this.ledger.forgetExpired?.(nowMs);
    } catch (error) {
      this.logger.warn({ err: error }, 'hold expiry sweep failed; will retry next interval');
    } finally {
      this.running = false;
    }
    return released;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
