/**
 * The hold ledger in Redis: each operation is one FCALL of the gw_ledger Function library
 * (ledger-library.lua), so the fence check, the replay check, the limit and balance checks and the
 * hold itself happen in one atomic step with one round trip. Design and why:
 * docs/holds-and-fencing.md.
 *
 * Redis is a cache the owners can rebuild, never the record: an acknowledged write can be lost on
 * failover. Two guards follow from that. A shard must have been claimed in this Redis before it
 * accepts writes (`requireClaim`), so a Redis that restarted empty refuses everything (`fenced`)
 * until the shard's owner claims it again and rebuilds; and `onStoreReplaced` tells the owner when
 * the server behind the connection changed (restart, failover), so it can rebuild then too.
 */
import type Redis from 'ioredis';
import type {
  AdviceOperation,
  AuthoriseOperation,
  ExpiredHoldsReport,
  Ledger,
  LedgerOperation,
  LedgerOutcome,
  LedgerOutcomeStatus,
  ReverseOperation,
} from '../../authorise/ledger';
import { shardOfAccount } from '../../authorise/shard-directory';
import type { Account, AccountView, Hold, HoldStatus } from '../../authorise/types';
import { FunctionLibrary, loadLibrary, readLibrarySource } from './function-library';
import { fenceKey, fenceKeys } from './ledger-keys';
import { connectRedis, type RedisConnectionOptions } from './redis-client';
import { ShardFencedError } from '../../authorise/shard-fenced-error';

const DAY_MS = 86_400_000;
/** Rebuild, admin and sweep calls: long enough for an account with thousands of pending holds. */
const PATIENT_COMMAND_TIMEOUT_MS = 10_000;
/** Holds restored per Function call: about a millisecond of Redis time each batch. */
const RESTORE_BATCH_HOLDS = 500;

/** An account as the durable record rebuilds it (src/store/cassandra/shard-rebuild.ts). */
export interface RestorableAccount {
  account: Account;
  holds: readonly (Hold & { rrn: string; approvalCode: string })[];
}

export interface RedisLedgerOptions extends RedisConnectionOptions {
  shardCount: number;
  /** First part of every key; lets several gateways (or test runs) share one Redis. */
  keyPrefix?: string;
  /** Days a hold stays pending before the sweep releases it; only sizes the retention default. */
  holdExpiryDays?: number;
  /**
   * How long idempotency records, reversal tombstones and ended holds are kept. Default: the hold
   * expiry + 1 day, so a repeat or a late reversal of any hold that can still be pending is
   * recognised, and memory stays bounded by the traffic of that window.
   */
  retentionMs?: number;
  /** Holds released per Function call by the sweep: bounds how long one call blocks Redis. */
  expiryBatchSize?: number;
  /** Batches per expireHolds call: bounds one sweep tick; the next tick continues. */
  expiryMaxBatches?: number;
  /** Refuse writes to a shard never claimed in this Redis (true in production; see file comment). */
  requireClaim?: boolean;
  /** DE 39 for an authorisation on an account the ledger does not hold (14, as the embedded ledger). */
  unknownAccountResponseCode?: string;
  /** Most pending holds returned by getAccount. */
  accountViewHoldLimit?: number;
  /**
   * Refuse an operation whose shard is not shardOfAccount(accountId) (default true). With false the
   * caller's shard is trusted and putAccount records it, so getAccount finds the account: for
   * callers (the ledger contract suite) that place accounts in shards of their own choosing.
   */
  verifyAccountShard?: boolean;
}

const DEFAULT_HOLD_EXPIRY_DAYS = 7;
/** 200 holds take well under a millisecond of Redis time per call. */
const DEFAULT_EXPIRY_BATCH = 200;
/** 50 × 200 = 10,000 holds per sweep tick. */
const DEFAULT_EXPIRY_MAX_BATCHES = 50;
/**
 * An account view is an admin read and reconciliation's view of the ledger: 10,000 holds is far
 * beyond a card account's pending set, yet a view that cut holds off would look to reconciliation
 * like holds missing from Redis.
 */
const DEFAULT_VIEW_HOLD_LIMIT = 10_000;

const outcomeStatuses: ReadonlySet<string> = new Set<LedgerOutcomeStatus>([
  'approved', 'partial', 'declined', 'applied', 'reversed', 'original-unknown', 'original-reversed', 'fenced',
]);
const holdStatuses: ReadonlySet<string> = new Set<HoldStatus>(['pending', 'released', 'expired', 'posted']);

function isOutcomeStatus(value: string): value is LedgerOutcomeStatus {
  return outcomeStatuses.has(value);
}

function isHoldStatus(value: string): value is HoldStatus {
  return holdStatuses.has(value);
}

type StoreReplacedListener = () => void;

export class RedisLedger implements Ledger {
  private readonly prefix: string;
  private readonly shardCount: number;
  private readonly retentionMs: string;
  private readonly requireClaim: string;
  private readonly unknownAccountCode: string;
  private readonly expiryBatch: number;
  private readonly expiryMaxBatches: number;
  private readonly viewHoldLimit: number;
  private readonly verifyAccountShard: boolean;
  private readonly fences: string[];
  private readonly library: FunctionLibrary;
  /** Off the hot path (rebuilds, admin, sweep, views): a connection whose timeout is not the budget's. */
  private readonly patientLibrary: FunctionLibrary;
  private readonly replacedListeners: StoreReplacedListener[] = [];
  private serverRunId: string | undefined;

  private constructor(private readonly client: Redis, private readonly patient: Redis, options: RedisLedgerOptions,
    source: string) {
    this.prefix = options.keyPrefix ?? 'gw';
    this.shardCount = options.shardCount;
    const holdExpiryDays = options.holdExpiryDays ?? DEFAULT_HOLD_EXPIRY_DAYS;
    this.retentionMs = String(options.retentionMs ?? (holdExpiryDays + 1) * DAY_MS);
    this.requireClaim = options.requireClaim === false ? '0' : '1';
    this.unknownAccountCode = options.unknownAccountResponseCode ?? '14';
    this.expiryBatch = options.expiryBatchSize ?? DEFAULT_EXPIRY_BATCH;
    this.expiryMaxBatches = options.expiryMaxBatches ?? DEFAULT_EXPIRY_MAX_BATCHES;
    this.viewHoldLimit = options.accountViewHoldLimit ?? DEFAULT_VIEW_HOLD_LIMIT;
    this.verifyAccountShard = options.verifyAccountShard ?? true;
    this.fences = fenceKeys(this.prefix, this.shardCount);
    this.library = new FunctionLibrary(client, source);
    this.patientLibrary = new FunctionLibrary(patient, source);
    client.on('ready', () => {
      void this.checkServerIdentity().catch(() => undefined);
    });
  }

  /** Connects, loads the Function library and returns a ready ledger. */
  static async connect(options: RedisLedgerOptions): Promise<RedisLedger> {
    if (!Number.isInteger(options.shardCount) || options.shardCount < 1) {
      throw new RangeError(`shardCount must be a positive integer, got ${options.shardCount}`);
    }
    const source = readLibrarySource('ledger-library.lua');
    const client = await connectRedis({ connectionName: 'gateway-ledger', ...options });
    let patient: Redis | undefined;
    try {
      // A rebuild restores an account with all its pending holds in one call, and an account view
      // lists them: such calls can take far longer than the hot path's budget-sized timeout.
      patient = await connectRedis({ connectionName: 'gateway-ledger-admin', ...options,
        commandTimeoutMs: Math.max(options.commandTimeoutMs ?? 0, PATIENT_COMMAND_TIMEOUT_MS), autoPipelining: false });
      await loadLibrary(client, source);
      const ledger = new RedisLedger(client, patient, options, source);
      await ledger.checkServerIdentity();
      return ledger;
    } catch (error: unknown) {
      client.disconnect();
      patient?.disconnect();
      throw error;
    }
  }

  /**
   * Called when the Redis server behind the connection is not the one seen before (its run_id
   * changed: a restart or a failover), so acknowledged writes may be gone and owners should rebuild.
   */
  /** The connection is up and ready for commands (readiness, the store-health gauge). */
  isConnected(): boolean {
    return this.client.status === 'ready' && this.patient.status === 'ready';
  }

  onStoreReplaced(listener: StoreReplacedListener): void {
    this.replacedListeners.push(listener);
  }

  async apply(operation: LedgerOperation): Promise<LedgerOutcome> {
    this.checkShard(operation.accountId, operation.shard);
    switch (operation.kind) {
      case 'authorise':
        return this.authorise(operation, 'A', operation.allowPartial, operation.incrementOf);
      case 'advice':
        return this.authorise(operation, 'V', false, undefined);
      case 'reverse':
        return this.reverse(operation);
    }
  }

  async putAccount(account: Account, shard: number, fencingToken: number): Promise<void> {
    this.checkShard(account.accountId, shard);
    const reply = await this.patientLibrary.call('gw_put_account', [
      this.fences[shard] as string, String(fencingToken), account.accountId, account.currency,
      String(account.balanceMinor), String(account.overdraftMinor), this.requireClaim,
    ]);
    if (reply === 'fenced') throw await this.fencedError(shard, fencingToken);
    if (!this.verifyAccountShard) await this.client.set(this.accountShardKey(account.accountId), String(shard));
  }

  async getAccount(accountId: string): Promise<AccountView | undefined> {
    const shard = await this.shardHolding(accountId);
    const reply = await this.patientLibrary.call('gw_account', [
      this.fences[shard] as string, accountId, String(Date.now()), String(this.viewHoldLimit),
    ]);
    return parseAccountView(accountId, reply);
  }

  async credit(accountId: string, amountMinor: number, idempotencyKey: string,
    shard: number, fencingToken: number): Promise<AccountView | undefined> {
    this.checkShard(accountId, shard);
    const reply = await this.patientLibrary.call('gw_credit', [
      this.fences[shard] as string, String(fencingToken), accountId, String(amountMinor), idempotencyKey,
      this.retentionMs, this.requireClaim,
    ]);
    if (reply === 'fenced') throw await this.fencedError(shard, fencingToken);
    if (reply === 'missing') return undefined;
    return this.getAccount(accountId);
  }

  async debit(accountId: string, amountMinor: number, holdId: string | undefined, idempotencyKey: string,
    shard: number, fencingToken: number): Promise<AccountView | undefined> {
    this.checkShard(accountId, shard);
    const reply = await this.patientLibrary.call('gw_debit', [
      this.fences[shard] as string, String(fencingToken), String(Date.now()), accountId, String(amountMinor),
      holdId ?? '', idempotencyKey, this.retentionMs, this.requireClaim,
    ]);
    if (reply === 'fenced') throw await this.fencedError(shard, fencingToken);
    if (reply === 'missing') return undefined;
    return this.getAccount(accountId);
  }

  /**
   * Loads an account as the durable record has it (posted balance, pending holds), replacing what
   * Redis holds for it: the rebuild after Redis lost its data or missed the account. Run by the
   * shard's owner under its token; each hold's authorisation outcome is recorded so a
   * retransmission replays. Spend counters are not rebuilt (see docs/holds-and-fencing.md).
   */
  async restoreAccount(state: RestorableAccount, shard: number, fencingToken: number): Promise<void> {
    this.checkShard(state.account.accountId, shard);
    const pending = state.holds.filter((hold) => hold.status === 'pending');
    // Bounded calls: one Function call blocks Redis for its whole run, so thousands of holds go in
    // batches (the first resets the account); the shard is not served until all have run.
    let next = 0;
    do {
      const args = [
        this.fences[shard] as string, String(fencingToken), String(Date.now()), state.account.accountId,
        state.account.currency, String(state.account.balanceMinor), String(state.account.overdraftMinor),
        this.retentionMs, this.requireClaim, next === 0 ? '1' : '0',
      ];
      const end = Math.min(pending.length, next + RESTORE_BATCH_HOLDS);
      for (; next < end; next++) {
        const hold = pending[next]!;
        args.push(hold.holdId, hold.cardId, String(hold.amountMinor), hold.idempotencyKey, String(hold.createdAtMs),
          String(hold.expiresAtMs), hold.rrn, hold.approvalCode);
      }
      const reply = await this.patientLibrary.call('gw_restore_account', args);
      if (reply === 'fenced') throw await this.fencedError(shard, fencingToken);
    } while (next < pending.length);
    if (!this.verifyAccountShard) await this.client.set(this.accountShardKey(state.account.accountId), String(shard));
  }

  /**
   * Releases due holds in batches of `expiryBatchSize`, at most `expiryMaxBatches` per call (the
   * owner's sweep calls again on its next tick). Releases nothing when the shard has a newer owner.
   * Each returned hold carries the amount it held when it expired.
   */
  async expireHolds(shard: number, nowMs: number, fencingToken: number): Promise<ExpiredHoldsReport> {
    const expired: Hold[] = [];
    for (let batch = 0; batch < this.expiryMaxBatches; batch += 1) {
      const reply = await this.patientLibrary.call('gw_expire', [
        this.fences[shard] as string, String(fencingToken), String(nowMs), String(this.expiryBatch),
        this.retentionMs, this.requireClaim,
      ]);
      // Fenced: a newer owner has the shard, and its sweep releases these holds (as the embedded ledger).
      if (!Array.isArray(reply) || reply[0] !== 'ok') break;
      for (let index = 2; index + 7 < reply.length; index += 8) {
        expired.push({
          holdId: String(reply[index]),
          accountId: String(reply[index + 1]),
          cardId: String(reply[index + 2]),
          amountMinor: Number(reply[index + 3]),
          status: 'expired',
          idempotencyKey: String(reply[index + 4]),
          createdAtMs: Number(reply[index + 5]),
          expiresAtMs: Number(reply[index + 6]),
          overdrawn: Number(reply[index + 7]) === 1,
        });
      }
      if (Number(reply[1]) !== 1) break;
    }
    return { expired };
  }

  async claimShard(shard: number, fencingToken: number): Promise<void> {
    const reply = await this.patientLibrary.call('gw_claim', [this.fences[shard] as string, String(fencingToken)]);
    if (Array.isArray(reply) && Number(reply[0]) === 1) return;
    const stored = Array.isArray(reply) ? Number(reply[1]) : undefined;
    throw new ShardFencedError(shard, fencingToken, stored);
  }

  /** The token stored for the shard, or undefined when the shard was never claimed in this Redis. */
  async fenceTokenOf(shard: number): Promise<number | undefined> {
    const stored = await this.client.get(fenceKey(this.prefix, shard));
    return stored === null ? undefined : Number(stored);
  }

  async close(): Promise<void> {
    for (const connection of [this.client, this.patient]) {
      try {
        await connection.quit();
      } catch {
        connection.disconnect();
      }
    }
  }

  private async authorise(operation: AuthoriseOperation | AdviceOperation, kind: 'A' | 'V',
    allowPartial: boolean, incrementOf: string | undefined): Promise<LedgerOutcome> {
    const limits = operation.limits;
    const atm = limits.atm;
    const reply = await this.library.call('gw_authorise', [
      this.fences[operation.shard] as string,
      String(operation.fencingToken),
      String(operation.nowMs),
      operation.accountId,
      operation.cardId,
      operation.idempotencyKey,
      kind,
      operation.settlement,
      String(operation.amountMinor),
      allowPartial ? '1' : '0',
      operation.holdId,
      String(operation.expiresAtMs),
      operation.references.rrn ?? '',
      operation.references.approvalCode ?? '',
      limits.dayKey,
      limits.monthKey,
      String(limits.dailySpendMinor),
      String(limits.monthlySpendMinor),
      atm === undefined ? '' : String(atm.dailyAmountMinor),
      atm === undefined ? '0' : String(atm.dailyCount),
      incrementOf ?? '',
      this.retentionMs,
      this.requireClaim,
      this.unknownAccountCode,
    ]);
    return parseOutcome(reply);
  }

  private async reverse(operation: ReverseOperation): Promise<LedgerOutcome> {
    const reply = await this.library.call('gw_reverse', [
      this.fences[operation.shard] as string,
      String(operation.fencingToken),
      String(operation.nowMs),
      operation.accountId,
      operation.cardId,
      operation.idempotencyKey,
      operation.originalKey ?? '',
      operation.references.rrn ?? '',
      operation.references.approvalCode ?? '',
      operation.remainingMinor === undefined ? '' : String(operation.remainingMinor),
      operation.advice ? '1' : '0',
      this.retentionMs,
      this.requireClaim,
    ]);
    return parseOutcome(reply);
  }

  private async shardHolding(accountId: string): Promise<number> {
    if (this.verifyAccountShard) return shardOfAccount(accountId, this.shardCount);
    const recorded = await this.client.get(this.accountShardKey(accountId));
    return recorded === null ? shardOfAccount(accountId, this.shardCount) : Number(recorded);
  }

  private accountShardKey(accountId: string): string {
    return `${this.prefix}:account-shard:${accountId}`;
  }

  /** An account's keys carry its shard's tag; a wrong shard would split it across two keyspaces. */
  private checkShard(accountId: string, shard: number): void {
    if (this.verifyAccountShard && shard !== shardOfAccount(accountId, this.shardCount)) {
      throw new RangeError(`account ${accountId} is in shard ${shardOfAccount(accountId, this.shardCount)}, not ${shard}`);
    }
  }

  private async fencedError(shard: number, fencingToken: number): Promise<ShardFencedError> {
    const stored = await this.fenceTokenOf(shard).catch(() => undefined);
    return new ShardFencedError(shard, fencingToken, stored);
  }

  private async checkServerIdentity(): Promise<void> {
    const info = await this.client.info('server');
    const match = /run_id:(\w+)/.exec(info);
    const runId = match?.[1];
    if (runId === undefined) return;
    const previous = this.serverRunId;
    this.serverRunId = runId;
    if (previous !== undefined && previous !== runId) {
      for (const listener of this.replacedListeners) listener();
    }
  }
}

function parseOutcome(reply: unknown): LedgerOutcome {
  if (!Array.isArray(reply) || reply.length < 7) {
    throw new Error(`gw_ledger returned an unexpected reply: ${JSON.stringify(reply)}`);
  }
  const status = String(reply[0]);
  if (!isOutcomeStatus(status)) throw new Error(`gw_ledger returned unknown status ${status}`);
  const holdId = String(reply[3]);
  const outcome: LedgerOutcome = {
    status,
    responseCode: String(reply[1]),
    approvedMinor: Number(reply[2]),
    replayed: Number(reply[4]) === 1,
    overdrawn: Number(reply[5]) === 1,
    availableMinor: Number(reply[6]),
  };
  if (holdId !== '') outcome.holdId = holdId;
  return outcome;
}

function parseAccountView(accountId: string, reply: unknown): AccountView | undefined {
  if (!Array.isArray(reply) || reply.length < 4) return undefined;
  const balanceMinor = Number(reply[1]);
  const overdraftMinor = Number(reply[2]);
  const pendingMinor = Number(reply[3]);
  const holds: Hold[] = [];
  for (let index = 4; index + 7 < reply.length; index += 8) {
    const status = String(reply[index + 3]);
    if (!isHoldStatus(status)) continue;
    holds.push({
      holdId: String(reply[index]),
      accountId,
      cardId: String(reply[index + 1]),
      amountMinor: Number(reply[index + 2]),
      status,
      idempotencyKey: String(reply[index + 4]),
      createdAtMs: Number(reply[index + 5]),
      expiresAtMs: Number(reply[index + 6]),
      overdrawn: Number(reply[index + 7]) === 1,
    });
  }
  holds.sort((left, right) => left.createdAtMs - right.createdAtMs);
  return {
    accountId,
    currency: String(reply[0]),
    balanceMinor,
    overdraftMinor,
    availableMinor: balanceMinor - pendingMinor + overdraftMinor,
    holds,
  };
}
