/**
 * What a decision did to money, as rows Cassandra can keep and a rebuild can fold: hold movements
 * (a hold placed, grown, shrunk, ended) and balance postings (a single-message payment posted or
 * refunded, an admin credit or debit).
 *
 * The decision record says what was answered; the ledger step behind it (memory-ledger.ts,
 * redis/ledger-library.lua) says what that did:
 * - an approved 0100 or an 0120 places a hold of approvedMinor under holdId (an incremental 0100
 *   grows its original's hold: same holdId, and the later expiry wins, as in the Redis ledger);
 * - an approved 0200/0220 posts approvedMinor at once (the Redis ledger still names it by a holdId
 *   with status 'posted', the memory ledger by none);
 * - a reversal releases approvedMinor from the original, a hold or a posting: which one is not in
 *   the reversal's record, so the store looks up the holdId's earlier rows (`holdSettlement`);
 * - a stand-in record (the acceptor answered at the deadline) is what the ledger was made to follow:
 *   answered decline over a decided approval releases the original in full (an incremental: what it
 *   added); answered approval over a decided decline places a new hold (or posts); both approvals
 *   change nothing. Telling these apart needs the original record (`original`).
 * Rows are keyed by the deciding message's idempotency key, so writing them twice (a retry, a journal
 * replay) writes the same rows.
 */
import type { DecisionRecord } from '../../authorise/decision-log';
import { isApproval, type Hold, type HoldStatus } from '../../authorise/types';

const DAY_MS = 86_400_000;

export type HoldSettlement = 'hold' | 'post';
/** How a row ended its hold: a stand-in decline released it, an admin debit posted it. */
export type HoldEnd = '' | 'released' | 'posted';

export interface HoldMovement {
  accountId: string;
  holdId: string;
  /** Key of the message that moved the hold; unique per row within the hold. */
  idempotencyKey: string;
  cardId: string;
  settlement: HoldSettlement;
  /** + placed or grown, - released; 0 for a row that only ends the hold. */
  deltaMinor: number;
  endsAs: HoldEnd;
  decidedAtMs: number;
  /** For rows that place or grow: when the hold lapses if nothing else ends it. */
  expiresAtMs: number;
  originalKey: string;
  rrn: string;
  approvalCode: string;
  overdrawn: boolean;
}

export type PostingKind = 'card-post' | 'card-refund' | 'admin-credit' | 'admin-debit' | 'admin-hold-post';

export interface BalancePosting {
  accountId: string;
  /** Idempotency key of what posted it. */
  postingId: string;
  postedAtMs: number;
  /** Signed: + credits the balance, - debits it. */
  amountMinor: number;
  kind: PostingKind;
  holdId: string;
}

export interface RecordEffects {
  holds: HoldMovement[];
  postings: BalancePosting[];
}

/** Lookups some records need; the store fills them before deriving the effects. */
export interface EffectContext {
  /** For stand-in records: the decision the stand-in answer overrode, if it was recorded. */
  original?: DecisionRecord | undefined;
  /** For reversals naming a hold: how that hold was created, if its rows are still kept. */
  holdSettlement?: HoldSettlement | undefined;
}

const noEffects: RecordEffects = Object.freeze({ holds: [], postings: [] }) as RecordEffects;

function spends(record: DecisionRecord): boolean {
  return record.kind === 'authorisation' || record.kind === 'financial';
}

function isReversal(record: DecisionRecord): boolean {
  return record.kind === 'reversal' || record.kind === 'reversal-advice';
}

function isPostingKind(record: DecisionRecord): boolean {
  return record.kind === 'financial' || record.kind === 'financial-advice';
}

/** Whether effectsOf needs `context.original` for this record. */
export function needsOriginal(record: DecisionRecord): boolean {
  return record.standIn && record.accountId !== '' && spends(record) && record.originalKey !== '';
}

/**
 * An approved incremental authorisation: it grows an existing hold and (in the Redis ledger) moves its
 * expiry later, so the hold's earlier rows must live longer than their TTL first promised; the store
 * rewrites them with the new TTL (the rows themselves are unchanged, so the rewrite is idempotent).
 */
export function needsHoldRefresh(record: DecisionRecord): boolean {
  return !record.standIn && record.accountId !== '' && record.kind === 'authorisation' && record.originalKey !== ''
    && record.holdId !== '' && record.approvedMinor > 0 && isApproval(record.responseCode);
}

/** Whether effectsOf needs `context.holdSettlement` for this record. */
export function needsHoldSettlement(record: DecisionRecord): boolean {
  return !record.standIn && record.accountId !== '' && isReversal(record) && record.approvedMinor > 0
    && record.holdId !== '';
}

function movement(record: DecisionRecord, holdId: string, settlement: HoldSettlement, deltaMinor: number,
  endsAs: HoldEnd, holdExpiryDays: number): HoldMovement {
  return {
    accountId: record.accountId, holdId, idempotencyKey: record.idempotencyKey, cardId: record.cardId,
    settlement, deltaMinor, endsAs, decidedAtMs: record.decidedAtMs,
    expiresAtMs: deltaMinor > 0 ? record.decidedAtMs + holdExpiryDays * DAY_MS : 0,
    originalKey: record.originalKey, rrn: record.rrn, approvalCode: record.approvalCode, overdrawn: record.overdrawn,
  };
}

function posting(record: DecisionRecord, amountMinor: number, kind: PostingKind, holdId: string): BalancePosting {
  return {
    accountId: record.accountId, postingId: record.idempotencyKey, postedAtMs: record.decidedAtMs, amountMinor,
    kind, holdId,
  };
}

/** Places a hold, or posts, for an approved spend: shared by ordinary and stand-in approvals. */
function spendEffects(record: DecisionRecord, holdExpiryDays: number): RecordEffects {
  if (isPostingKind(record)) {
    const holds = record.holdId !== ''
      ? [movement(record, record.holdId, 'post', record.approvedMinor, '', holdExpiryDays)] : [];
    return { holds, postings: [posting(record, -record.approvedMinor, 'card-post', record.holdId)] };
  }
  if (record.holdId === '') return noEffects;
  return { holds: [movement(record, record.holdId, 'hold', record.approvedMinor, '', holdExpiryDays)], postings: [] };
}

function standInEffects(record: DecisionRecord, context: EffectContext, holdExpiryDays: number): RecordEffects {
  if (!spends(record)) return noEffects;
  const original = context.original;
  const originalApproved = original !== undefined && !original.standIn && isApproval(original.responseCode)
    && original.approvedMinor > 0;
  if (!isApproval(record.responseCode)) {
    // Answered decline, decided approval: the ledger released the original in full.
    if (!originalApproved || original === undefined) return noEffects;
    if (isPostingKind(original)) {
      return { holds: [], postings: [posting(record, original.approvedMinor, 'card-refund', original.holdId)] };
    }
    if (original.holdId === '') return noEffects;
    if (original.originalKey !== '' && original.kind === 'authorisation') {
      // An incremental: its reversal took back what it added, not its original's part of the hold.
      return { holds: [movement(record, original.holdId, 'hold', -original.approvedMinor, '', holdExpiryDays)], postings: [] };
    }
    return { holds: [movement(record, original.holdId, 'hold', 0, 'released', holdExpiryDays)], postings: [] };
  }
  // Answered approval: a new hold only when the decision itself had not approved.
  if (originalApproved || record.approvedMinor <= 0) return noEffects;
  return spendEffects(record, holdExpiryDays);
}

export function effectsOf(record: DecisionRecord, context: EffectContext, holdExpiryDays: number): RecordEffects {
  if (record.accountId === '') return noEffects;
  if (record.standIn) return standInEffects(record, context, holdExpiryDays);
  if (isReversal(record)) {
    if (record.approvedMinor <= 0) return noEffects;
    if (record.holdId === '') {
      return { holds: [], postings: [posting(record, record.approvedMinor, 'card-refund', '')] };
    }
    if (context.holdSettlement === 'post') {
      return {
        holds: [movement(record, record.holdId, 'post', -record.approvedMinor, '', holdExpiryDays)],
        postings: [posting(record, record.approvedMinor, 'card-refund', record.holdId)],
      };
    }
    return { holds: [movement(record, record.holdId, 'hold', -record.approvedMinor, '', holdExpiryDays)], postings: [] };
  }
  if (!isApproval(record.responseCode) || record.approvedMinor <= 0) return noEffects;
  return spendEffects(record, holdExpiryDays);
}

/** A hold as folded from its rows, with the references Redis needs to match a later reversal. */
export interface FoldedHold extends Hold {
  settlement: HoldSettlement;
  rrn: string;
  approvalCode: string;
}

/**
 * The state of each hold from its movement rows, as the ledger would hold it at nowMs: amount is the
 * sum of the deltas; the earliest placing row names the hold (key, card, references, creation); the
 * latest expiry of a placing row wins; an ending row ends it; a hold past expiry counts as expired
 * (the sweep would have released it). Rows of a hold with no placing row (it aged out) are ignored.
 */
export function foldHolds(rows: readonly HoldMovement[], nowMs: number): FoldedHold[] {
  const byHold = new Map<string, HoldMovement[]>();
  for (const row of rows) {
    let list = byHold.get(row.holdId);
    if (list === undefined) {
      list = [];
      byHold.set(row.holdId, list);
    }
    list.push(row);
  }
  const folded: FoldedHold[] = [];
  for (const [holdId, list] of byHold) {
    let first: HoldMovement | undefined;
    let amountMinor = 0;
    let expiresAtMs = 0;
    let endsAs: HoldEnd = '';
    let overdrawn = false;
    for (const row of list) {
      amountMinor += row.deltaMinor;
      if (row.endsAs !== '') endsAs = row.endsAs;
      if (row.overdrawn) overdrawn = true;
      if (row.deltaMinor > 0) {
        if (first === undefined || row.decidedAtMs < first.decidedAtMs
          || (row.decidedAtMs === first.decidedAtMs && row.idempotencyKey < first.idempotencyKey)) first = row;
        if (row.expiresAtMs > expiresAtMs) expiresAtMs = row.expiresAtMs;
      }
    }
    if (first === undefined) continue;
    amountMinor = Math.max(0, amountMinor);
    let status: HoldStatus;
    if (first.settlement === 'post' || endsAs === 'posted') status = 'posted';
    else if (endsAs === 'released' || amountMinor === 0) status = 'released';
    else if (expiresAtMs <= nowMs) status = 'expired';
    else status = 'pending';
    folded.push({
      holdId, accountId: first.accountId, cardId: first.cardId, amountMinor, status,
      idempotencyKey: first.idempotencyKey, createdAtMs: first.decidedAtMs, expiresAtMs, overdrawn,
      settlement: first.settlement, rrn: first.rrn, approvalCode: first.approvalCode,
    });
  }
  folded.sort((left, right) => left.createdAtMs - right.createdAtMs);
  return folded;
}

/** The posted balance: the account's balance as of its last put, plus every posting after it. */
export function foldBalance(balanceMinor: number, balanceAsOfMs: number, postings: readonly BalancePosting[]): number {
  let balance = balanceMinor;
  for (const entry of postings) if (entry.postedAtMs > balanceAsOfMs) balance += entry.amountMinor;
  return balance;
}
