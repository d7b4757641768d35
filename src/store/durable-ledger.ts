/**
 * The stack's ledger: the Redis ledger for every balance and hold change, with the admin writes
 * (account, credit, debit) also recorded in Cassandra, and an account Redis does not hold (lost or
 * never loaded) restored from Cassandra under the shard's fencing token before it is decided on.
 *
 * Holds need no second write here: the Cassandra decision log derives hold movements from each
 * decision record, which is durable before an approval leaves.
 */
import type { ExpiredHoldsReport, Ledger, LedgerOperation, LedgerOutcome } from '../authorise/ledger';
import type { Account, AccountView } from '../authorise/types';
import type { RedisLedger } from './redis/redis-ledger';
import type { CassandraAccountStore } from './cassandra';
import type { ShardDirectory } from '../authorise/shard-directory';
import { ResponseCode } from '../authorise/types';

export class DurableLedger implements Ledger {
  constructor(private readonly redis: RedisLedger, private readonly accounts: CassandraAccountStore,
    private readonly shards: ShardDirectory) {}

  async apply(operation: LedgerOperation): Promise<LedgerOutcome> {
    const outcome = await this.redis.apply(operation);
    if (outcome.status === 'declined' && outcome.responseCode === ResponseCode.invalidCardNumber
      && operation.kind !== 'reverse' && await this.restoreFromRecord(operation.accountId)) {
      return this.redis.apply(operation);
    }
    return outcome;
  }

  /** Loads the account from Cassandra into Redis; false when Cassandra does not know it either. */
  async restoreFromRecord(accountId: string): Promise<boolean> {
    const stored = await this.accounts.getAccount(accountId);
    if (stored === undefined) return false;
    const token = this.shards.currentToken(stored.shard);
    if (token === undefined) return false;
    const state = await this.accounts.accountState(stored);
    await this.redis.restoreAccount(state, stored.shard, token);
    return true;
  }

  async putAccount(account: Account, shard: number, fencingToken: number): Promise<void> {
    // Redis first: it checks the fence, so a deposed owner's write goes nowhere.
    await this.redis.putAccount(account, shard, fencingToken);
    await this.accounts.putAccount(account);
  }

  async getAccount(accountId: string): Promise<AccountView | undefined> {
    const view = await this.redis.getAccount(accountId);
    if (view !== undefined) return view;
    return await this.restoreFromRecord(accountId) ? this.redis.getAccount(accountId) : undefined;
  }

  async credit(accountId: string, amountMinor: number, idempotencyKey: string, shard: number,
    fencingToken: number): Promise<AccountView | undefined> {
    const view = await this.redis.credit(accountId, amountMinor, idempotencyKey, shard, fencingToken);
    if (view !== undefined) await this.accounts.recordCredit(accountId, amountMinor, idempotencyKey);
    return view;
  }

  async debit(accountId: string, amountMinor: number, holdId: string | undefined, idempotencyKey: string,
    shard: number, fencingToken: number): Promise<AccountView | undefined> {
    const view = await this.redis.debit(accountId, amountMinor, holdId, idempotencyKey, shard, fencingToken);
    if (view !== undefined) await this.accounts.recordDebit(accountId, amountMinor, holdId, idempotencyKey);
    return view;
  }

  expireHolds(shard: number, nowMs: number, fencingToken: number): Promise<ExpiredHoldsReport> {
    return this.redis.expireHolds(shard, nowMs, fencingToken);
  }

  claimShard(shard: number, fencingToken: number): Promise<void> {
    return this.redis.claimShard(shard, fencingToken);
  }

  async close(): Promise<void> {
    await this.redis.close();
  }
}
