/**
 * Statements and row mapping for hold movements and balance postings, shared by the decision log
 * (which writes what decisions did) and the account store (admin postings, rebuild reads).
 */
import type { Client, QueryOptions } from 'cassandra-driver';
import { UtcCalendar } from '../../authorise/calendar';
import { booleanOf, numberOf, textOf, type CqlRow } from './cql-values';
import type { BalancePosting, HoldEnd, HoldMovement, HoldSettlement, PostingKind } from './hold-movements';

/** One statement of a batch. */
export interface StatementRow {
  query: string;
  params: unknown[];
}

export interface MovementStatements {
  insertHold: string;
  insertPosting: string;
  selectHoldsOfAccount: string;
  selectHoldRows: string;
  selectHoldRowsFull: string;
  selectPostings: string;
}

export function movementStatements(keyspace: string): MovementStatements {
  return {
    insertHold: `INSERT INTO ${keyspace}.holds (account_id, hold_id, idempotency_key, card_id, settlement,
      delta_minor, ends_as, decided_at, expires_at, original_key, rrn, approval_code, overdrawn)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?`,
    insertPosting: `INSERT INTO ${keyspace}.account_postings (account_id, month, posted_at, posting_id, amount_minor,
      posting_kind, hold_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    selectHoldsOfAccount: `SELECT * FROM ${keyspace}.holds WHERE account_id = ?`,
    selectHoldRows: `SELECT settlement, delta_minor FROM ${keyspace}.holds WHERE account_id = ? AND hold_id = ?`,
    selectHoldRowsFull: `SELECT * FROM ${keyspace}.holds WHERE account_id = ? AND hold_id = ?`,
    selectPostings: `SELECT * FROM ${keyspace}.account_postings WHERE account_id = ? AND month = ?`,
  };
}

export class MovementWriter {
  private readonly calendar = new UtcCalendar();

  constructor(private readonly client: Client, private readonly statements: MovementStatements,
    private readonly holdTtlSeconds: number) {}

  /** ttlSeconds overrides the lookup TTL for rows of a hold whose expiry moved later (an incremental). */
  holdRow(row: HoldMovement, ttlSeconds: number = this.holdTtlSeconds): StatementRow {
    return { query: this.statements.insertHold, params: [
      row.accountId, row.holdId, row.idempotencyKey, row.cardId, row.settlement, row.deltaMinor, row.endsAs,
      row.decidedAtMs, row.expiresAtMs, row.originalKey, row.rrn, row.approvalCode, row.overdrawn,
      Math.max(this.holdTtlSeconds, ttlSeconds),
    ] };
  }

  /** Every row of one hold. */
  async holdRows(accountId: string, holdId: string, options: QueryOptions): Promise<HoldMovement[]> {
    const result = await this.client.execute(this.statements.selectHoldRowsFull, [accountId, holdId], options);
    return result.rows.map((row) => holdMovementFromRow(row));
  }

  writeHold(row: HoldMovement, options: QueryOptions, ttlSeconds: number = this.holdTtlSeconds): Promise<unknown> {
    return this.execute(this.holdRow(row, ttlSeconds), options);
  }

  postingRow(entry: BalancePosting): StatementRow {
    return { query: this.statements.insertPosting, params: [
      entry.accountId, this.calendar.monthKey(entry.postedAtMs), entry.postedAtMs, entry.postingId,
      entry.amountMinor, entry.kind, entry.holdId,
    ] };
  }

  writePosting(entry: BalancePosting, options: QueryOptions): Promise<unknown> {
    return this.execute(this.postingRow(entry), options);
  }

  private execute(statement: StatementRow, options: QueryOptions): Promise<unknown> {
    return this.client.execute(statement.query, statement.params, options);
  }

  /** How the hold was created ('hold' or 'post'), from its placing rows; undefined when none is kept. */
  async holdSettlement(accountId: string, holdId: string, options: QueryOptions): Promise<HoldSettlement | undefined> {
    const result = await this.client.execute(this.statements.selectHoldRows, [accountId, holdId], options);
    for (const row of result.rows) {
      if (numberOf(row.get('delta_minor')) > 0) return settlementOf(row.get('settlement'));
    }
    return undefined;
  }
}

function settlementOf(value: unknown): HoldSettlement {
  return textOf(value) === 'post' ? 'post' : 'hold';
}

function endOf(value: unknown): HoldEnd {
  const text = textOf(value);
  return text === 'released' || text === 'posted' ? text : '';
}

const postingKinds: ReadonlySet<string> = new Set<PostingKind>([
  'card-post', 'card-refund', 'admin-credit', 'admin-debit', 'admin-hold-post',
]);

export function holdMovementFromRow(row: CqlRow): HoldMovement {
  return {
    accountId: textOf(row.get('account_id')),
    holdId: textOf(row.get('hold_id')),
    idempotencyKey: textOf(row.get('idempotency_key')),
    cardId: textOf(row.get('card_id')),
    settlement: settlementOf(row.get('settlement')),
    deltaMinor: numberOf(row.get('delta_minor')),
    endsAs: endOf(row.get('ends_as')),
    decidedAtMs: numberOf(row.get('decided_at')),
    expiresAtMs: numberOf(row.get('expires_at')),
    originalKey: textOf(row.get('original_key')),
    rrn: textOf(row.get('rrn')),
    approvalCode: textOf(row.get('approval_code')),
    overdrawn: booleanOf(row.get('overdrawn')),
  };
}

export function postingFromRow(row: CqlRow): BalancePosting {
  const kind = textOf(row.get('posting_kind'));
  if (!postingKinds.has(kind)) throw new Error(`unknown posting kind ${JSON.stringify(kind)} in Cassandra`);
  return {
    accountId: textOf(row.get('account_id')),
    postingId: textOf(row.get('posting_id')),
    postedAtMs: numberOf(row.get('posted_at')),
    amountMinor: numberOf(row.get('amount_minor')),
    kind: kind as PostingKind,
    holdId: textOf(row.get('hold_id')),
  };
}
