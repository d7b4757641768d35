/**
 * The embedded hold ledger: balances, holds and counters in this process's memory, for `npm start`
 * with no services. Each operation runs synchronously to completion, which is what makes it atomic
 * per account here (Node runs one callback at a time); the Redis ledger gets the same property from
 * one Function call. Both pass the same contract tests (test/authorise/ledger-contract.ts).
 *
 * Embedded balances do not survive a restart: the durable record is the decision log.
 */
import type {
  AdviceOperation, AuthoriseOperation, ExpiredHoldsReport, Ledger, LedgerOperation, LedgerOutcome,
  LedgerOutcomeStatus, ReverseOperation, SpendLimitCheck,
} from './ledger';
import { ResponseCode, type Account, type AccountView, type Hold } from './types';
import { ShardFencedError } from './shard-fenced-error';
import { UtcCalendar } from './calendar';
import { PartitionedMap } from './partitioned-map';

/**
 * Partitions of the ledger-wide tables: a million outcomes are about 16,000 per partition, whose
 * doubling rehash takes about half a millisecond (partitioned-map.ts).
 */
const LEDGER_PARTITIONS = 64;
/** An account's holds: a few for a person, many thousands for a busy business account. */
const HOLD_PARTITIONS = 16;

/** What an authorisation or advice left behind, so a reversal can undo exactly that. */
interface LedgerEntry {
  idempotencyKey: string;
  accountId: string;
  settlement: 'hold' | 'post';
  /**
   * A posting's amount still posted, or an incremental's part of its shared hold still held. An
   * original authorisation's hold is counted by the hold itself (its amount, increments included).
   */
  amountMinor: number;
  hold: Hold | undefined;
  limits: SpendLimitCheck;
  /** Its keys in `references` ('' when none), removed with the entry. */
  rrnReference: string;
  approvalReference: string;
  /** An incremental's entry: it shares its original's hold, and its reversal releases only its part. */
  increment: boolean;
}

interface AccountState {
  account: Account;
  shard: number;
  pendingMinor: number;
  holds: PartitionedMap<Hold>;
}


export interface MemoryLedgerOptions {
  /** How long idempotency outcomes and reversal tombstones are kept (ms). */
  retentionMs: number;
}

export class MemoryLedger implements Ledger {
  private readonly accounts = new Map<string, AccountState>();
  // The tables that grow with every decision are partitioned: see partitioned-map.ts.
  private readonly outcomes = new PartitionedMap<{ outcome: LedgerOutcome; expiresAtMs: number }>(LEDGER_PARTITIONS);
  private readonly entries = new PartitionedMap<LedgerEntry>(LEDGER_PARTITIONS);
  private readonly references = new PartitionedMap<string>(LEDGER_PARTITIONS);
  private readonly reversedBeforeOriginal = new PartitionedMap<number>(LEDGER_PARTITIONS);
  private readonly counters = new Map<string, number>();
  private readonly shardTokens = new Map<number, number>();
  private readonly adminKeys = new Map<string, number>();
  /** Its own calendar: the sweep's dates would otherwise evict the hot path's cached day. */
  private readonly sweepCalendar = new UtcCalendar();
  /** Entries whose outcome is forgotten but whose hold is kept matchable a while longer. */
  private readonly entriesToForget = new PartitionedMap<number>(LEDGER_PARTITIONS);
  /** The oldest day whose spend counters were kept at the last pruning. */
  private countersKeptFromDay = '';

  constructor(private readonly options: MemoryLedgerOptions) {}

  async apply(operation: LedgerOperation): Promise<LedgerOutcome> {
    return this.applyNow(operation);
  }

  /** Synchronous form of apply, for the embedded pipeline that need not await. */
  applyNow(operation: LedgerOperation): LedgerOutcome {
    if (this.isFenced(operation.shard, operation.fencingToken)) {
      return this.outcome('fenced', ResponseCode.issuerUnavailable, 0, undefined, 0);
    }
    const stored = this.outcomes.get(operation.idempotencyKey);
    if (stored !== undefined && stored.expiresAtMs > operation.nowMs) {
      return { ...stored.outcome, replayed: true };
    }
    if (operation.kind !== 'reverse' && !this.accounts.has(operation.accountId)) {
      // Not remembered: once the account is loaded, a retry is decided afresh.
      return this.outcome('declined', ResponseCode.invalidCardNumber, 0, undefined, 0);
    }
    let outcome: LedgerOutcome;
    switch (operation.kind) {
      case 'authorise': outcome = this.authorise(operation); break;
      case 'advice': outcome = this.advise(operation); break;
      case 'reverse': outcome = this.reverse(operation); break;
    }
    // Re-inserted, not overwritten in place: the map stays in decision order for the sweep.
    if (stored !== undefined) this.outcomes.delete(operation.idempotencyKey);
    this.outcomes.set(operation.idempotencyKey,
      { outcome, expiresAtMs: operation.nowMs + this.options.retentionMs });
    return outcome;
  }

  private authorise(operation: AuthoriseOperation): LedgerOutcome {
    const state = this.accounts.get(operation.accountId);
    if (state === undefined) return this.outcome('declined', ResponseCode.invalidCardNumber, 0, undefined, 0);
    if (this.reversedBeforeOriginal.has(operation.idempotencyKey)) {
      return this.outcome('original-reversed', ResponseCode.invalidTransaction, 0, undefined,
        availableOf(state));
    }
    if (operation.incrementOf !== undefined) return this.increment(operation, state);

    const limitCode = this.limitBreach(operation.cardId, operation.limits, operation.amountMinor);
    if (limitCode !== undefined) return this.outcome('declined', limitCode, 0, undefined, availableOf(state));

    const available = availableOf(state);
    let approvedMinor = operation.amountMinor;
    let status: LedgerOutcomeStatus = 'approved';
    if (approvedMinor > available) {
      if (!operation.allowPartial || available <= 0) {
        return this.outcome('declined', ResponseCode.insufficientFunds, 0, undefined, available);
      }
      approvedMinor = available;
      status = 'partial';
    }
    const hold = this.record(operation, state, approvedMinor);
    return this.outcome(status, status === 'partial' ? ResponseCode.partialApproval : ResponseCode.approved,
      approvedMinor, hold?.holdId, availableOf(state));
  }

  private increment(operation: AuthoriseOperation, state: AccountState): LedgerOutcome {
    const entry = this.entries.get(operation.incrementOf as string);
    if (entry === undefined || entry.accountId !== operation.accountId || entry.hold === undefined
      || entry.hold.status !== 'pending') {
      return this.outcome('declined', ResponseCode.invalidTransaction, 0, undefined, availableOf(state));
    }
    // The increment is today's spend: it counts against the increment's own day and month.
    const limitCode = this.limitBreach(operation.cardId, operation.limits, operation.amountMinor);
    if (limitCode !== undefined) return this.outcome('declined', limitCode, 0, undefined, availableOf(state));
    if (operation.amountMinor > availableOf(state)) {
      return this.outcome('declined', ResponseCode.insufficientFunds, 0, undefined, availableOf(state));
    }
    entry.hold.amountMinor += operation.amountMinor;
    state.pendingMinor += operation.amountMinor;
    this.countSpend(operation.cardId, operation.limits, operation.amountMinor, 0);
    // Its own entry, so a reversal naming the incremental (DE 90) takes back only what it added.
    this.entries.set(operation.idempotencyKey, {
      idempotencyKey: operation.idempotencyKey, accountId: operation.accountId, settlement: 'hold',
      amountMinor: operation.amountMinor, hold: entry.hold, limits: operation.limits, rrnReference: '',
      approvalReference: '', increment: true,
    });
    return this.outcome('approved', ResponseCode.approved, operation.amountMinor, entry.hold.holdId,
      availableOf(state));
  }

  private advise(operation: AdviceOperation): LedgerOutcome {
    const state = this.accounts.get(operation.accountId);
    if (state === undefined) return this.outcome('declined', ResponseCode.invalidCardNumber, 0, undefined, 0);
    if (this.reversedBeforeOriginal.has(operation.idempotencyKey)) {
      // Its reversal came first: acknowledged, and nothing is held.
      return this.outcome('original-reversed', ResponseCode.approved, 0, undefined, availableOf(state));
    }
    const hold = this.record(operation, state, operation.amountMinor);
    const available = availableOf(state);
    const result = this.outcome('applied', ResponseCode.approved, operation.amountMinor, hold?.holdId, available);
    result.overdrawn = available < 0;
    if (hold !== undefined) hold.overdrawn = result.overdrawn;
    return result;
  }

  /** Places the hold (or posts) and counts the spend; shared by authorisations and advices. */
  private record(operation: AuthoriseOperation | AdviceOperation, state: AccountState,
    amountMinor: number): Hold | undefined {
    let hold: Hold | undefined;
    if (operation.settlement === 'hold') {
      hold = {
        holdId: operation.holdId, accountId: operation.accountId, cardId: operation.cardId,
        amountMinor, status: 'pending', idempotencyKey: operation.idempotencyKey,
        createdAtMs: operation.nowMs, expiresAtMs: operation.expiresAtMs, overdrawn: false,
      };
      state.holds.set(hold.holdId, hold);
      state.pendingMinor += amountMinor;
    } else {
      state.account.balanceMinor -= amountMinor;
    }
    const { rrn, approvalCode } = operation.references;
    const rrnReference = rrn === undefined ? '' : referenceKey(operation.accountId, 'rrn', rrn);
    const approvalReference = approvalCode === undefined ? '' : referenceKey(operation.accountId, 'auth', approvalCode);
    if (rrnReference !== '') this.references.set(rrnReference, operation.idempotencyKey);
    if (approvalReference !== '') this.references.set(approvalReference, operation.idempotencyKey);
    this.entries.set(operation.idempotencyKey, {
      idempotencyKey: operation.idempotencyKey, accountId: operation.accountId,
      settlement: operation.settlement, amountMinor, hold, limits: operation.limits, rrnReference, approvalReference,
      increment: false,
    });
    this.countSpend(operation.cardId, operation.limits, amountMinor, 1);
    return hold;
  }

  private reverse(operation: ReverseOperation): LedgerOutcome {
    const state = this.accounts.get(operation.accountId);
    const available = state === undefined ? 0 : availableOf(state);
    const entry = this.findOriginal(operation);
    if (entry === undefined || state === undefined) {
      if (operation.originalKey !== undefined) {
        // Re-inserted, not updated in place: the tombstones stay in the order of their expiry.
        this.reversedBeforeOriginal.delete(operation.originalKey);
        this.reversedBeforeOriginal.set(operation.originalKey, operation.nowMs + this.options.retentionMs);
      }
      return this.outcome('original-unknown',
        operation.advice ? ResponseCode.approved : ResponseCode.invalidTransaction, 0, undefined, available);
    }
    let releasedMinor = 0;
    const hold = entry.hold;
    if (entry.settlement === 'hold') {
      // Only a pending hold releases anything (one expired, released or posted already has).
      if (hold !== undefined && hold.status === 'pending') {
        // The original's reversal takes the whole hold, increments included; an incremental's, at
        // most what it added. DE 95 (remainingMinor) is what stays held of that.
        const share = entry.increment ? Math.min(entry.amountMinor, hold.amountMinor) : hold.amountMinor;
        releasedMinor = share - Math.min(operation.remainingMinor ?? 0, share);
        if (releasedMinor > 0) {
          hold.amountMinor -= releasedMinor;
          if (entry.increment) entry.amountMinor -= releasedMinor;
          state.pendingMinor -= releasedMinor;
          if (hold.amountMinor === 0) {
            hold.status = 'released';
            state.holds.delete(hold.holdId);
          }
          this.countSpend(operation.cardId, entry.limits, -releasedMinor, 0);
        }
      }
    } else {
      const remaining = Math.min(operation.remainingMinor ?? 0, entry.amountMinor);
      releasedMinor = entry.amountMinor - remaining;
      if (releasedMinor > 0) {
        entry.amountMinor = remaining;
        state.account.balanceMinor += releasedMinor;
        this.countSpend(operation.cardId, entry.limits, -releasedMinor, 0);
      }
    }
    return this.outcome('reversed', ResponseCode.approved, releasedMinor, entry.hold?.holdId,
      availableOf(state));
  }

  private findOriginal(operation: ReverseOperation): LedgerEntry | undefined {
    if (operation.originalKey !== undefined) {
      // Within the reversal's account only, as the Redis ledger keys it: DE 90 names a STAN and a
      // time, which another account's authorisation may share.
      const byKey = this.entries.get(operation.originalKey);
      if (byKey !== undefined && byKey.accountId === operation.accountId) return byKey;
    }
    const { rrn, approvalCode } = operation.references;
    const key = (rrn !== undefined ? this.references.get(referenceKey(operation.accountId, 'rrn', rrn)) : undefined)
      ?? (approvalCode !== undefined
        ? this.references.get(referenceKey(operation.accountId, 'auth', approvalCode)) : undefined);
    return key === undefined ? undefined : this.entries.get(key);
  }

  private limitBreach(cardId: string, limits: SpendLimitCheck, amountMinor: number): string | undefined {
    if (this.counter(cardId, 'day', limits.dayKey) + amountMinor > limits.dailySpendMinor) {
      return ResponseCode.exceedsAmountLimit;
    }
    if (this.counter(cardId, 'month', limits.monthKey) + amountMinor > limits.monthlySpendMinor) {
      return ResponseCode.exceedsAmountLimit;
    }
    if (limits.atm !== undefined) {
      if (this.counter(cardId, 'atm-amount', limits.dayKey) + amountMinor > limits.atm.dailyAmountMinor) {
        return ResponseCode.exceedsAmountLimit;
      }
      if (this.counter(cardId, 'atm-count', limits.dayKey) + 1 > limits.atm.dailyCount) {
        return ResponseCode.exceedsCountLimit;
      }
    }
    return undefined;
  }

  private counter(cardId: string, kind: string, periodKey: string): number {
    return this.counters.get(`${cardId}|${kind}|${periodKey}`) ?? 0;
  }

  private countSpend(cardId: string, limits: SpendLimitCheck, amountMinor: number, count: number): void {
    this.bump(`${cardId}|day|${limits.dayKey}`, amountMinor);
    this.bump(`${cardId}|month|${limits.monthKey}`, amountMinor);
    if (limits.atm !== undefined) {
      this.bump(`${cardId}|atm-amount|${limits.dayKey}`, amountMinor);
      this.bump(`${cardId}|atm-count|${limits.dayKey}`, count);
    }
  }

  /** A counter back at zero is dropped: absent reads as zero, and a late reversal never recreates a pruned one. */
  private bump(key: string, delta: number): void {
    const next = Math.max(0, (this.counters.get(key) ?? 0) + delta);
    if (next === 0) this.counters.delete(key);
    else this.counters.set(key, next);
  }

  private isFenced(shard: number, fencingToken: number): boolean {
    return fencingToken < (this.shardTokens.get(shard) ?? 0);
  }

  private outcome(status: LedgerOutcomeStatus, responseCode: string, approvedMinor: number,
    holdId: string | undefined, availableMinor: number): LedgerOutcome {
    const result: LedgerOutcome = {
      status, responseCode, approvedMinor, replayed: false, overdrawn: false, availableMinor,
    };
    if (holdId !== undefined) result.holdId = holdId;
    return result;
  }

  async putAccount(account: Account, shard: number, fencingToken: number): Promise<void> {
    if (this.isFenced(shard, fencingToken)) throw new ShardFencedError(shard, fencingToken, this.shardTokens.get(shard));
    const existing = this.accounts.get(account.accountId);
    if (existing !== undefined) {
      existing.account = { ...account };
      return;
    }
    this.accounts.set(account.accountId,
      { account: { ...account }, shard, pendingMinor: 0, holds: new PartitionedMap<Hold>(HOLD_PARTITIONS) });
  }

  async getAccount(accountId: string): Promise<AccountView | undefined> {
    const state = this.accounts.get(accountId);
    if (state === undefined) return undefined;
    return {
      ...state.account,
      availableMinor: availableOf(state),
      holds: [...state.holds.values()].map((hold) => ({ ...hold })),
    };
  }

  async credit(accountId: string, amountMinor: number, idempotencyKey: string, shard: number,
    fencingToken: number): Promise<AccountView | undefined> {
    const state = this.accounts.get(accountId);
    if (state === undefined) return undefined;
    if (this.isFenced(shard, fencingToken)) throw new ShardFencedError(shard, fencingToken, this.shardTokens.get(shard));
    if (!this.adminKeys.has(idempotencyKey)) {
      this.adminKeys.set(idempotencyKey, Date.now());
      state.account.balanceMinor += amountMinor;
    }
    return this.getAccount(accountId);
  }

  async debit(accountId: string, amountMinor: number, holdId: string | undefined,
    idempotencyKey: string, shard: number, fencingToken: number): Promise<AccountView | undefined> {
    const state = this.accounts.get(accountId);
    if (state === undefined) return undefined;
    if (this.isFenced(shard, fencingToken)) throw new ShardFencedError(shard, fencingToken, this.shardTokens.get(shard));
    if (!this.adminKeys.has(idempotencyKey)) {
      if (holdId !== undefined) {
        const hold = state.holds.get(holdId);
        if (hold === undefined) return undefined;
        hold.status = 'posted';
        state.pendingMinor -= hold.amountMinor;
        state.holds.delete(holdId);
        const entry = this.entries.get(hold.idempotencyKey);
        if (entry !== undefined) entry.amountMinor = 0;
      }
      this.adminKeys.set(idempotencyKey, Date.now());
      state.account.balanceMinor -= amountMinor;
    }
    return this.getAccount(accountId);
  }

  async expireHolds(shard: number, nowMs: number, fencingToken: number): Promise<ExpiredHoldsReport> {
    const expired: Hold[] = [];
    if (this.isFenced(shard, fencingToken)) return { expired };
    for (const state of this.accounts.values()) {
      if (state.shard !== shard) continue;
      for (const hold of state.holds.values()) {
        if (hold.status !== 'pending' || hold.expiresAtMs > nowMs) continue;
        hold.status = 'expired';
        state.pendingMinor -= hold.amountMinor;
        state.holds.delete(hold.holdId);
        const entry = this.entries.get(hold.idempotencyKey);
        if (entry !== undefined) entry.amountMinor = 0;
        expired.push({ ...hold });
      }
    }
    return { expired };
  }

  /**
   * Bounded memory, run by the expiry sweep once per pass, after every shard's holds were expired.
   * Past the retention an idempotency outcome goes. What it left for reversals (its entry and
   * the RRN and approval-code references to it) stays as long as the Redis ledger keeps the same:
   * for a hold, until the hold's expiry plus the retention, so a late reversal of an expired hold is
   * still matched (and releases nothing) on both. Reversal tombstones go at their own expiry, and
   * spend counters once no authorisation still kept can count against or be reversed from them.
   * Outcomes, tombstones and the entries waiting to be forgotten are kept in the order they were
   * queued (each partition in its own order), each with the same delay, so PartitionedMap's
   * deleteOldestWhile stops at the first one still kept: each sweep costs what it forgets, plus one
   * step per partition (a clock step only delays forgetting, never hastens it).
   */
  forgetExpired(nowMs: number): void {
    const forgetEntry = (key: string): void => this.forgetEntryWhenDue(key, nowMs);
    this.outcomes.deleteOldestWhile((stored) => stored.expiresAtMs <= nowMs, forgetEntry);
    this.entriesToForget.deleteOldestWhile((forgetAtMs) => forgetAtMs <= nowMs, forgetEntry);
    this.reversedBeforeOriginal.deleteOldestWhile((expiresAtMs) => expiresAtMs <= nowMs);
    this.forgetPastCounters(nowMs);
  }

  /** Forgets an entry now, or queues it until its hold's expiry plus the retention. */
  private forgetEntryWhenDue(idempotencyKey: string, nowMs: number): void {
    const entry = this.entries.get(idempotencyKey);
    if (entry === undefined) return;
    const hold = entry.hold;
    if (hold !== undefined) {
      // A hold still pending past its expiry (its shard's sweep failed this pass) is not forgotten
      // before a sweep has ended it.
      const forgetAtMs = (hold.status === 'pending' ? Math.max(hold.expiresAtMs, nowMs) : hold.expiresAtMs)
        + this.options.retentionMs;
      if (forgetAtMs > nowMs) {
        this.entriesToForget.set(idempotencyKey, forgetAtMs);
        return;
      }
    }
    this.entries.delete(idempotencyKey);
    if (entry.rrnReference !== '' && this.references.get(entry.rrnReference) === idempotencyKey) {
      this.references.delete(entry.rrnReference);
    }
    if (entry.approvalReference !== '' && this.references.get(entry.approvalReference) === idempotencyKey) {
      this.references.delete(entry.approvalReference);
    }
  }

  /**
   * Spend counters of days and months before the retention. They are walked whole, so only when
   * the oldest kept day changes: once a day, not on every sweep.
   */
  private forgetPastCounters(nowMs: number): void {
    const cutoff = nowMs - this.options.retentionMs;
    const oldestDay = this.sweepCalendar.dayKey(cutoff);
    if (oldestDay === this.countersKeptFromDay) return;
    this.countersKeptFromDay = oldestDay;
    const oldestMonth = this.sweepCalendar.monthKey(cutoff);
    for (const key of this.counters.keys()) {
      // Keys end in |YYYYMMDD (day counters) or |YYYYMM (month counters); both sort as text.
      const period = key.slice(key.lastIndexOf('|') + 1);
      if (period < (period.length === oldestDay.length ? oldestDay : oldestMonth)) this.counters.delete(key);
    }
  }

  /** How many keys each in-memory structure holds: what the sweep keeps bounded (read by the tests). */
  get footprint(): { outcomes: number; entries: number; references: number; counters: number; tombstones: number } {
    return {
      outcomes: this.outcomes.size, entries: this.entries.size, references: this.references.size,
      counters: this.counters.size, tombstones: this.reversedBeforeOriginal.size,
    };
  }

  async claimShard(shard: number, fencingToken: number): Promise<void> {
    if (fencingToken > (this.shardTokens.get(shard) ?? 0)) this.shardTokens.set(shard, fencingToken);
  }

  async close(): Promise<void> {}
}

/** Key of an RRN or approval-code reference to an authorisation, within its account. */
function referenceKey(accountId: string, kind: 'rrn' | 'auth', value: string): string {
  return `${accountId}|${kind}|${value}`;
}

function availableOf(state: AccountState): number {
  return state.account.balanceMinor - state.pendingMinor + state.account.overdraftMinor;
}
