/**
 * The hold ledger: the one place an account's balance and holds change.
 *
 * Every change is one atomic step per account (in Redis, one Function call; embedded, one
 * synchronous block) keyed by the idempotency key of the message that caused it, so a repeat or
 * retransmission replays the stored outcome instead of acting twice. Holds follow TigerBeetle's
 * pending transfers: placed (pending), then released by a reversal, posted by a clearing or
 * expired by the sweep, each at most once; limits and the available balance are checked when the
 * hold is placed, so a later release or post can never break them.
 *
 * Every operation carries the shard's fencing token (see shard-ownership.ts). The ledger refuses an
 * operation whose token is older than the newest it has seen for that shard, so an instance that
 * lost its shard (paused, partitioned) cannot change holds: the outcome is `fenced`. The admin
 * writes (putAccount, credit, debit), whose results carry no outcome, throw ShardFencedError
 * instead, and a fenced expireHolds releases nothing and reports an empty list.
 */
import type { Account, AccountView, Hold } from './types';

/** Which counters a hold counts against. Day and month keys are UTC: "20261126", "202611". */
export interface SpendLimitCheck {
  dayKey: string;
  monthKey: string;
  dailySpendMinor: number;
  monthlySpendMinor: number;
  /** Present only for cash withdrawals. */
  atm?: { dailyAmountMinor: number; dailyCount: number };
}

/** References by which a later reversal can find this authorisation when DE 90 is unusable. */
export interface MatchReferences {
  /** DE 37. */
  rrn?: string;
  /** DE 38 we issued on approval. */
  approvalCode?: string;
}

interface OperationBase {
  /** Key of the message that causes this operation (see acceptor/idempotency-key.ts). */
  idempotencyKey: string;
  accountId: string;
  cardId: string;
  shard: number;
  fencingToken: number;
  nowMs: number;
}

/** 0100/0200: checks limits and available balance; places a hold (or posts, for 0200). */
export interface AuthoriseOperation extends OperationBase {
  kind: 'authorise';
  /** 'hold' for dual-message (0100), 'post' for single-message (0200). */
  settlement: 'hold' | 'post';
  amountMinor: number;
  /** The terminal supports partial approval: approve what is available instead of declining 51. */
  allowPartial: boolean;
  limits: SpendLimitCheck;
  holdId: string;
  expiresAtMs: number;
  references: MatchReferences;
  /** For an incremental authorisation: the key of the authorisation whose hold grows. */
  incrementOf?: string;
}

/** 0120/0220: the scheme already decided; apply without checks, even past the overdraft. */
export interface AdviceOperation extends OperationBase {
  kind: 'advice';
  settlement: 'hold' | 'post';
  amountMinor: number;
  limits: SpendLimitCheck;
  holdId: string;
  expiresAtMs: number;
  references: MatchReferences;
}

/** 0400/0420: release all of the original's hold, or down to `remainingMinor` (DE 95). */
export interface ReverseOperation extends OperationBase {
  kind: 'reverse';
  /** The original's idempotency key from DE 90, when DE 90 was usable. */
  originalKey?: string;
  /** Fallback references (DE 37, DE 38) of the original. */
  references: MatchReferences;
  /** Partial reversal: the amount that stays held. Absent for a full reversal. */
  remainingMinor?: number;
  /** 0420 cannot be declined: an unmatched reversal advice is acknowledged and remembered. */
  advice: boolean;
}

export type LedgerOperation = AuthoriseOperation | AdviceOperation | ReverseOperation;

export type LedgerOutcomeStatus =
  | 'approved'          // hold placed / posted for the full amount
  | 'partial'           // hold placed for approvedMinor < requested
  | 'declined'          // responseCode says why; nothing changed
  | 'applied'           // advice applied
  | 'reversed'          // hold released (fully or partly)
  | 'original-unknown'  // reversal with no original yet: remembered, the original can no longer hold
  | 'original-reversed' // authorisation whose reversal came first: not held
  | 'fenced';           // the shard's fencing token is newer than ours: nothing changed

export interface LedgerOutcome {
  status: LedgerOutcomeStatus;
  /** DE 39 to answer with. */
  responseCode: string;
  /** Amount held or posted (approvals), released (reversals), or 0. */
  approvedMinor: number;
  holdId?: string;
  /** True when this is the stored outcome of an earlier identical operation. */
  replayed: boolean;
  /** An advice took the available balance below the overdraft limit. */
  overdrawn: boolean;
  /** Available balance after the step. */
  availableMinor: number;
}

export interface ExpiredHoldsReport {
  expired: Hold[];
}

export interface Ledger {
  /** Applies one operation atomically for its account. Resolves; rejects only on I/O failure. */
  apply(operation: LedgerOperation): Promise<LedgerOutcome>;

  /** Creates or replaces an account's posted balance and overdraft (admin API). */
  putAccount(account: Account, shard: number, fencingToken: number): Promise<void>;
  getAccount(accountId: string): Promise<AccountView | undefined>;
  /** A top-up: balance += amount. Keyed so a retried admin call credits once. */
  credit(accountId: string, amountMinor: number, idempotencyKey: string,
    shard: number, fencingToken: number): Promise<AccountView | undefined>;
  /** A cleared transaction: balance -= amount; with holdId the hold is posted (consumed). */
  debit(accountId: string, amountMinor: number, holdId: string | undefined, idempotencyKey: string,
    shard: number, fencingToken: number): Promise<AccountView | undefined>;

  /** Releases the shard's pending holds whose expiry is at or before nowMs. */
  expireHolds(shard: number, nowMs: number, fencingToken: number): Promise<ExpiredHoldsReport>;

  /**
   * Forgets what is past its retention, once per sweep pass after every shard's expireHolds. Only a
   * ledger that keeps things in process memory needs it; Redis keys carry their own TTLs.
   */
  forgetExpired?(nowMs: number): void;

  /** Records that a new owner took the shard with this token; older tokens are refused after. */
  claimShard(shard: number, fencingToken: number): Promise<void>;

  close(): Promise<void>;
}
