/**
 * The decision log on Cassandra (the stack backend's DecisionLog).
 *
 * One append writes the record to every table that serves a read of it, each an idempotent INSERT
 * (same values under the same primary key on a retry or a journal replay): decisions (the record,
 * by account and day), decisions_by_key (repeats), decisions_by_card (admin API),
 * decisions_by_reference (reversal matching), and the hold movements and postings the decision
 * caused (hold-movements.ts). They go as one UNLOGGED batch: no batch log, each partition's rows
 * applied as if sent alone, but one request instead of five to seven on both sides, which is what
 * let the stack carry 1,500 decisions a second here (docs/persistence.md). Hot appends are group
 * committed (batch-group.ts): decisions that arrive while earlier batches are being written share
 * the next batch. An incremental's
 * rewrite of its hold's earlier rows is the exception: a long-lived hold can have many, so they go
 * as separate inserts beside the batch and never push it towards Cassandra's batch size limits.
 * The append resolves only when every write is acknowledged at the write consistency; it rejects
 * when any fails or when the whole append passes `appendTimeoutMs`, and then the configured policy
 * decides (decline, or journal: journaling-decision-log.ts). No lightweight transactions: four
 * Paxos round trips per write would not fit the budget, and idempotent keys make them unnecessary.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { Client, QueryOptions } from 'cassandra-driver';
import type { DecisionLog, DecisionRecord } from '../../authorise/decision-log';
import { UtcCalendar } from '../../authorise/calendar';
import { Profile, hotWriteOptions, patientWriteOptions, readOptions, shutdownCassandra } from './client';
import { previousMonthKey, textOf } from './cql-values';
import {
  decisionPartitionAccount, decisionRecordText, recordFromRow, referencesOf,
  type ReferenceKind,
} from './decision-rows';
import {
  effectsOf, needsHoldRefresh, needsHoldSettlement, needsOriginal, type EffectContext, type HoldMovement,
} from './hold-movements';
import {
  BatchGroup, QueuedPastBoundError, defaultBatchGroupLimits, isPastBound, type AppendBound, type BatchGroupLimits,
} from './batch-group';
import { checkKeyspaceName } from './migrations';
import { MovementWriter, movementStatements, type StatementRow } from './movement-rows';
import { cardHistoryTtlSeconds, lookupTtlSeconds } from './options';
import { isTransientCassandraError } from './transient-errors';

export interface CassandraDecisionLogOptions {
  keyspace: string;
  holdExpiryDays: number;
  /** Months GET /v1/decisions?cardId= looks back. */
  cardHistoryMonths: number;
  /** Bound on one hot-path append, all rows and retries included. */
  appendTimeoutMs: number;
  /** Shut the client down on close: true when this log is the client's only user. */
  ownsClient?: boolean;
  /** Group commit of hot appends (batch-group.ts); the defaults suit the decision rows. */
  batchGroup?: BatchGroupLimits;
}

/** The append did not complete inside its bound; the rows may still land later (they are idempotent). */
export class AppendTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`decision write not acknowledged within ${timeoutMs} ms`);
    this.name = 'AppendTimeoutError';
  }
}

/**
 * Decisions being written at once, their reads (a reversal's original, a hold's rows) included.
 * Their batches share at most two requests at a time (batch-group.ts), so this bounds the reads and
 * an incremental's hold rows, keeping well under the connections' stream ids with room for the
 * journal's replay.
 */
const MAX_APPENDS_IN_FLIGHT = 256;

/** Tries of a correcting record (appendPatiently), each with the patient timeout, further apart each time. */
const PATIENT_ATTEMPTS = 3;
const PATIENT_RETRY_DELAY_MS = 200;

/** Most rows GET /v1/decisions returns: an admin read, bounded so one call cannot scan a card's year. */
const MAX_RECENT_LIMIT = 1000;

const hotBatchOptions: Readonly<QueryOptions> = Object.freeze({
  prepare: true, isIdempotent: true, logged: false, executionProfile: Profile.hotWrite,
});
const patientBatchOptions: Readonly<QueryOptions> = Object.freeze({
  prepare: true, isIdempotent: true, logged: false, executionProfile: Profile.patientWrite,
});

export type WriteMode = 'hot' | 'patient';

export class CassandraDecisionLog implements DecisionLog {
  private appendsInFlight = 0;
  private readonly appendTurns: (() => void)[] = [];
  private readonly calendar = new UtcCalendar();
  private readonly movements: MovementWriter;
  private readonly group: BatchGroup;
  private readonly lookupTtl: number;
  private readonly cardTtl: number;
  private readonly insertDecision: string;
  private readonly insertByKey: string;
  private readonly insertByCard: string;
  private readonly insertReference: string;
  private readonly selectByKey: string;
  private readonly selectByCard: string;
  private readonly selectByReference: string;
  private readonly selectAccountDay: string;
  private closed = false;

  constructor(private readonly client: Client, private readonly options: CassandraDecisionLogOptions) {
    const ks = checkKeyspaceName(options.keyspace);
    // The key columns and the record as one cell (decision-rows.ts); the per-field columns of
    // schema versions 1-2 are left empty.
    this.insertDecision = `INSERT INTO ${ks}.decisions (account_id, day, decided_at, decision_id, idempotency_key, record)
      VALUES (?, ?, ?, ?, ?, ?)`;
    this.insertByKey = `INSERT INTO ${ks}.decisions_by_key (idempotency_key, record) VALUES (?, ?) USING TTL ?`;
    this.insertByCard = `INSERT INTO ${ks}.decisions_by_card (card_id, month, decided_at, decision_id, idempotency_key,
      record) VALUES (?, ?, ?, ?, ?, ?) USING TTL ?`;
    // A reference row is its key: the lookup reads only the idempotency key from it.
    this.insertReference = `INSERT INTO ${ks}.decisions_by_reference (pan_hash, reference_kind, reference, decided_at,
      idempotency_key) VALUES (?, ?, ?, ?, ?) USING TTL ?`;
    this.selectByKey = `SELECT * FROM ${ks}.decisions_by_key WHERE idempotency_key = ?`;
    this.selectByCard = `SELECT * FROM ${ks}.decisions_by_card WHERE card_id = ? AND month = ? LIMIT ?`;
    this.selectByReference = `SELECT idempotency_key FROM ${ks}.decisions_by_reference
      WHERE pan_hash = ? AND reference_kind = ? AND reference = ?`;
    this.selectAccountDay = `SELECT * FROM ${ks}.decisions WHERE account_id = ? AND day = ?`;
    this.lookupTtl = lookupTtlSeconds(options);
    this.cardTtl = cardHistoryTtlSeconds(options);
    this.movements = new MovementWriter(client, movementStatements(ks), this.lookupTtl);
    this.group = new BatchGroup((rows) => this.client.batch(rows, hotBatchOptions),
      options.batchGroup ?? defaultBatchGroupLimits, (error) => !isTransientCassandraError(error));
  }

  /** Hot batches sent and the decisions in them since start (their ratio is the mean group size). */
  get groupCommits(): { batches: number; decisions: number } {
    return this.group.written;
  }

  /**
   * A record that corrects an answer already given: the patient timeout, and up to
   * PATIENT_ATTEMPTS tries (the rows are idempotent). Not bounded by appendTimeoutMs, and not queued
   * behind the hot appends' turns: it is what keeps the record in line with what was answered.
   */
  async appendPatiently(record: DecisionRecord): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Error('decision log is closed');
      try {
        await this.write(record, 'patient');
        return;
      } catch (error: unknown) {
        if (attempt >= PATIENT_ATTEMPTS) throw error;
        await delay(PATIENT_RETRY_DELAY_MS * attempt);
      }
    }
  }

  /** Hot path: resolves when every row is acknowledged, rejects on failure or after appendTimeoutMs. */
  append(record: DecisionRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('decision log is closed'));
    const bound: AppendBound = { sendByMs: performance.now() + this.options.appendTimeoutMs, abandoned: false };
    return withDeadline(this.writeInTurn(record, bound), bound, this.options.appendTimeoutMs);
  }

  /**
   * At most MAX_APPENDS_IN_FLIGHT decisions are being written at once; the rest wait their turn.
   * A burst would otherwise exhaust the connections' stream ids, and the driver answers that with
   * an immediate NoHostAvailableError per statement, leaving some of a decision's rows written and
   * others not. A decision whose bound passed while it waited is not written at all: its caller has
   * already been told it failed, and a record landing after that would contradict the answer.
   */
  private async writeInTurn(record: DecisionRecord, bound: AppendBound): Promise<void> {
    if (this.appendsInFlight >= MAX_APPENDS_IN_FLIGHT) {
      await new Promise<void>((resolve) => { this.appendTurns.push(resolve); });
      if (isPastBound(bound)) {
        this.passTurn();
        throw new QueuedPastBoundError();
      }
    }
    this.appendsInFlight++;
    try {
      await this.write(record, 'hot', bound);
    } finally {
      this.appendsInFlight--;
      this.passTurn();
    }
  }

  private passTurn(): void {
    if (this.appendsInFlight < MAX_APPENDS_IN_FLIGHT) this.appendTurns.shift()?.();
  }

  /**
   * Writes every row of the record. A hot append (from `append`, with its bound) uses the tight
   * timeouts and the group commit, and sends nothing once its bound has passed; 'patient' (journal
   * replay, tools) the long timeout and a batch of its own. Same rows either way, so a replay over a
   * write that did land changes nothing.
   */
  async write(record: DecisionRecord, mode: WriteMode, bound?: AppendBound): Promise<void> {
    const lookupOptions = mode === 'hot' ? readOptions : patientWriteOptions;
    const context: EffectContext = {};
    let earlierHoldRows: HoldMovement[] = [];
    if (needsHoldRefresh(record)) {
      earlierHoldRows = await this.movements.holdRows(record.accountId, record.holdId, lookupOptions);
    } else if (needsOriginal(record)) {
      context.original = await this.findByKey(record.originalKey, lookupOptions);
    } else if (needsHoldSettlement(record)) {
      context.holdSettlement = await this.movements.holdSettlement(record.accountId, record.holdId, lookupOptions);
    }
    const effects = effectsOf(record, context, this.options.holdExpiryDays);
    // The reads above took time: a hot append whose caller has been answered sends nothing.
    if (bound !== undefined && isPastBound(bound)) throw new QueuedPastBoundError();

    const text = decisionRecordText(record);
    const rows: StatementRow[] = [
      {
        query: this.insertDecision,
        params: [decisionPartitionAccount(record), this.calendar.dayKey(record.decidedAtMs), record.decidedAtMs,
          record.decisionId, record.idempotencyKey, text],
      },
      { query: this.insertByKey, params: [record.idempotencyKey, text, this.lookupTtl] },
    ];
    if (record.cardId !== '') {
      rows.push({
        query: this.insertByCard,
        params: [record.cardId, this.calendar.monthKey(record.decidedAtMs), record.decidedAtMs, record.decisionId,
          record.idempotencyKey, text, this.cardTtl],
      });
    }
    for (const reference of referencesOf(record)) {
      rows.push({
        query: this.insertReference,
        params: [record.panHash, reference.kind, reference.value, record.decidedAtMs, record.idempotencyKey, this.lookupTtl],
      });
    }
    if (!needsHoldRefresh(record)) {
      for (const hold of effects.holds) rows.push(this.movements.holdRow(hold));
      for (const entry of effects.postings) rows.push(this.movements.postingRow(entry));
      await this.writeRows(rows, bound);
      return;
    }
    // The hold now lapses later: every row of it must outlive the new expiry by the usual margin.
    // Its earlier rows are as many as the hold's movements: inserted one by one, beside the batch.
    const ttl = Math.ceil((record.decidedAtMs - Date.now()) / 1000) + this.lookupTtl;
    const writeOptions = mode === 'hot' ? hotWriteOptions : patientWriteOptions;
    const writes: Promise<unknown>[] = [];
    for (const row of earlierHoldRows) {
      if (row.idempotencyKey !== record.idempotencyKey) writes.push(this.movements.writeHold(row, writeOptions, ttl));
    }
    for (const hold of effects.holds) rows.push(this.movements.holdRow(hold, ttl));
    for (const entry of effects.postings) rows.push(this.movements.postingRow(entry));
    writes.push(this.writeRows(rows, bound));
    await Promise.all(writes);
  }

  /** A hot append's rows (it has a bound) join the group commit; a patient write is a batch of its own. */
  private writeRows(rows: StatementRow[], bound: AppendBound | undefined): Promise<unknown> {
    if (bound === undefined) return this.client.batch(rows, patientBatchOptions);
    return this.group.submit(rows, bound);
  }

  findByIdempotencyKey(idempotencyKey: string): Promise<DecisionRecord | undefined> {
    return this.findByKey(idempotencyKey, readOptions);
  }

  private async findByKey(idempotencyKey: string, options: QueryOptions): Promise<DecisionRecord | undefined> {
    const result = await this.client.execute(this.selectByKey, [idempotencyKey], options);
    const row = result.first();
    return row === null || row === undefined ? undefined : recordFromRow(row);
  }

  /** Newest first, walking back month partitions until `limit` or the kept history runs out. */
  async recentForCard(cardId: string, limit: number, nowMs: number = Date.now()): Promise<DecisionRecord[]> {
    const wanted = Math.min(Math.max(0, Math.floor(limit)), MAX_RECENT_LIMIT);
    const found: DecisionRecord[] = [];
    if (wanted === 0 || cardId === '') return found;
    let month = this.calendar.monthKey(nowMs);
    for (let step = 0; step <= this.options.cardHistoryMonths && found.length < wanted; step += 1) {
      const result = await this.client.execute(this.selectByCard, [cardId, month, wanted - found.length], readOptions);
      for (const row of result.rows) found.push(recordFromRow(row));
      month = previousMonthKey(month);
    }
    return found;
  }

  /**
   * Decisions a reversal may refer to, by DE 32+11+7 ('stan', see stanReference), DE 37 ('rrn') or
   * DE 38 ('approval'), among those on the card with this PAN hash; newest first.
   */
  async findByReference(panHash: string, kind: ReferenceKind, value: string): Promise<DecisionRecord[]> {
    const result = await this.client.execute(this.selectByReference, [panHash, kind, value], readOptions);
    const records: DecisionRecord[] = [];
    for (const row of result.rows) {
      const record = await this.findByKey(textOf(row.get('idempotency_key')), readOptions);
      if (record !== undefined) records.push(record);
    }
    return records;
  }

  /** Every decision of an account on one UTC day (YYYYMMDD), newest first: reconciliation and audits. */
  async decisionsOfAccountDay(accountId: string, dayKey: string): Promise<DecisionRecord[]> {
    const records: DecisionRecord[] = [];
    // Paged: a busy account's day can exceed one page; eachRow-style paging keeps memory per page.
    let pageState: string | undefined;
    do {
      const pageOptions: QueryOptions = { ...readOptions, fetchSize: 500 };
      if (pageState !== undefined) pageOptions.pageState = pageState;
      const result = await this.client.execute(this.selectAccountDay, [accountId, dayKey], pageOptions);
      for (const row of result.rows) records.push(recordFromRow(row));
      pageState = result.pageState ?? undefined;
    } while (pageState !== undefined);
    return records;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.options.ownsClient === true) await shutdownCassandra(this.client);
  }
}

/**
 * Resolves or rejects as `work` does, or rejects with AppendTimeoutError after timeoutMs, whichever
 * is first. The timer marks the bound abandoned before it rejects, so nothing of the append is sent
 * after its caller has been told it failed.
 */
function withDeadline(work: Promise<void>, bound: AppendBound, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      bound.abandoned = true;
      reject(new AppendTimeoutError(timeoutMs));
    }, timeoutMs);
    work.then(() => {
      clearTimeout(timer);
      resolve();
    }, (error: unknown) => {
      clearTimeout(timer);
      reject(error instanceof Error ? error : new Error(String(error)));
    });
  });
}
