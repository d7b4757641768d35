/**
 * The journal policy (`writeFailurePolicy: journal`): when Cassandra cannot take a decision inside
 * its bound, the record goes to a local fsync'd journal and the append resolves, so the answer can
 * leave; a background replayer writes journaled records into Cassandra once it answers again and
 * then deletes them. Nothing answered is lost as long as this host's disk survives until the replay:
 * that is the trade against the decline policy (no approval without a Cassandra row), chosen per
 * deployment in config.
 *
 * Modes. 'direct': appends go to Cassandra, a failure journals that record and switches to
 * 'journaling'. 'journaling': appends go straight to the journal (no per-decision timeout paid while
 * Cassandra is down). The replayer closes the active segment and replays closed segments oldest first;
 * as soon as one segment replays, Cassandra has proved it answers and mode returns to 'direct', while
 * the remaining backlog keeps replaying. A record that depends on a journaled one (a reversal of a
 * journaled hold, a stand-in record of a journaled decision) is journaled too, so the replay writes
 * it after its original, whose rows its own rows are derived from.
 *
 * Replay is idempotent: every row has the same primary key and values however often it is written.
 * Within a segment, records that depend on others are replayed after the rest. A record Cassandra
 * refuses for good (invalid, not a timeout) goes to a dead-letter file rather than blocking the queue.
 *
 * Restart: open() reads back every segment an earlier process left and starts replaying at once.
 */
import type { DecisionLog, DecisionRecord } from '../../authorise/decision-log';
import type { WriteMode } from './cassandra-decision-log';
import { DecisionJournal, type JournalSegment } from './decision-journal';
import { needsHoldRefresh, needsHoldSettlement, needsOriginal } from './hold-movements';
import type { JournalSettings } from './options';
import { isTransientCassandraError } from './transient-errors';

/** What the journal wraps: the Cassandra log, with a patient write for replay. */
export interface ReplayableDecisionLog extends DecisionLog {
  write(record: DecisionRecord, mode: WriteMode): Promise<void>;
}

/** Where the journal reports what it does; a pino logger fits. */
export interface JournalEvents {
  warn(details: Record<string, unknown>, message: string): void;
  info(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export type JournalMode = 'direct' | 'journaling';

export interface JournalingDecisionLogOptions {
  journal: Pick<JournalSettings, 'directory' | 'maxBacklogRecords' | 'replayIntervalMs' | 'replayConcurrency'>;
  events?: JournalEvents;
}

/** The journal holds its bound of unreplayed records: the append is refused (the authoriser declines). */
export class JournalBacklogFullError extends Error {
  constructor(readonly backlog: number) {
    super(`decision journal backlog is full (${backlog} records): refusing to journal more`);
    this.name = 'JournalBacklogFullError';
  }
}

const silentEvents: JournalEvents = { warn: () => undefined, info: () => undefined, error: () => undefined };

export class JournalingDecisionLog implements DecisionLog {
  private modeValue: JournalMode = 'direct';
  /** Every journaled record not yet in Cassandra, by idempotency key (repeats and reversals find them). */
  private readonly backlog = new Map<string, DecisionRecord>();
  private readonly backlogHolds = new Map<string, number>();
  private readonly events: JournalEvents;
  private timer: NodeJS.Timeout | undefined;
  private replaying: Promise<void> | undefined;
  private closed = false;
  private deadLetters = 0;
  private replayedTotal = 0;

  private constructor(private readonly inner: ReplayableDecisionLog, private readonly journal: DecisionJournal,
    private readonly options: JournalingDecisionLogOptions) {
    this.events = options.events ?? silentEvents;
    for (const segment of journal.closedSegments) for (const record of segment.records) this.remember(record);
    if (this.backlog.size > 0) {
      this.modeValue = 'journaling';
      this.events.warn({ backlog: this.backlog.size, segments: journal.closedSegments.length },
        'decision journal holds records from an earlier run: replaying into Cassandra');
      this.startReplayer();
      setImmediate(() => { void this.replayNow(); });
    }
  }

  static open(inner: ReplayableDecisionLog, options: JournalingDecisionLogOptions): JournalingDecisionLog {
    const journal = DecisionJournal.open(options.journal.directory);
    return new JournalingDecisionLog(inner, journal, options);
  }

  get mode(): JournalMode {
    return this.modeValue;
  }

  /** Records journaled and not yet in Cassandra: the gauge to alert on. */
  get backlogRecords(): number {
    return this.backlog.size;
  }

  /** Records moved to the dead-letter file since start (each needs an operator). */
  get deadLetterRecords(): number {
    return this.deadLetters;
  }

  /** Records replayed into Cassandra since start. */
  get replayedRecords(): number {
    return this.replayedTotal;
  }

  async append(record: DecisionRecord): Promise<void> {
    if (this.closed) throw new Error('decision log is closed');
    if (this.modeValue === 'journaling' || this.dependsOnBacklog(record)) return this.journalRecord(record);
    try {
      await this.inner.append(record);
    } catch (error: unknown) {
      this.enterJournaling(error);
      await this.journalRecord(record);
    }
  }

  /** The journal is already the patient path: a correction goes the way every record goes. */
  appendPatiently(record: DecisionRecord): Promise<void> {
    return this.append(record);
  }

  private dependsOnBacklog(record: DecisionRecord): boolean {
    if (this.backlog.size === 0) return false;
    return (record.originalKey !== '' && this.backlog.has(record.originalKey))
      || (record.holdId !== '' && this.backlogHolds.has(record.holdId));
  }

  private async journalRecord(record: DecisionRecord): Promise<void> {
    if (this.backlog.size >= this.options.journal.maxBacklogRecords) throw new JournalBacklogFullError(this.backlog.size);
    this.remember(record);
    try {
      await this.journal.append(record);
    } catch (error: unknown) {
      this.forget(record);
      throw error;
    }
  }

  private remember(record: DecisionRecord): void {
    this.backlog.set(record.idempotencyKey, record);
    if (record.holdId !== '') this.backlogHolds.set(record.holdId, (this.backlogHolds.get(record.holdId) ?? 0) + 1);
  }

  private forget(record: DecisionRecord): void {
    // A later record under the same key (journaled again) stays indexed.
    if (this.backlog.get(record.idempotencyKey) === record) this.backlog.delete(record.idempotencyKey);
    if (record.holdId !== '') {
      const count = (this.backlogHolds.get(record.holdId) ?? 1) - 1;
      if (count <= 0) this.backlogHolds.delete(record.holdId);
      else this.backlogHolds.set(record.holdId, count);
    }
  }

  private enterJournaling(error: unknown): void {
    if (this.modeValue === 'journaling') return;
    this.modeValue = 'journaling';
    this.events.warn({ err: describeError(error) }, 'Cassandra did not take a decision in time: journaling locally');
    this.startReplayer();
  }

  private startReplayer(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(() => { void this.replayNow(); }, this.options.journal.replayIntervalMs);
    // The gateway's servers keep the process alive; the replayer alone should not.
    this.timer.unref();
  }

  private stopReplayer(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One replay round now (also what the timer runs); resolves when the round ends. */
  replayNow(): Promise<void> {
    if (this.replaying !== undefined) return this.replaying;
    if (this.closed) return Promise.resolve();
    this.replaying = this.replayRound().finally(() => { this.replaying = undefined; });
    return this.replaying;
  }

  private async replayRound(): Promise<void> {
    try {
      await this.journal.rotate();
      for (const segment of [...this.journal.closedSegments]) {
        if (this.closed) return;
        await this.replaySegment(segment);
        this.journal.removeSegment(segment);
        for (const record of segment.records) this.forget(record);
        this.replayedTotal += segment.records.length;
        if (this.modeValue === 'journaling') {
          // Cassandra took a whole segment: new decisions can go to it directly again.
          this.modeValue = 'direct';
          this.events.info({ backlog: this.backlog.size }, 'Cassandra answers again: decisions written directly');
        }
      }
      if (this.backlog.size === 0 && this.modeValue === 'direct') this.stopReplayer();
    } catch (error: unknown) {
      this.events.warn({ err: describeError(error), backlog: this.backlog.size },
        'decision journal replay stopped; retrying');
    }
  }

  /** Independent records first, in parallel; then those whose rows derive from earlier ones. */
  private async replaySegment(segment: JournalSegment): Promise<void> {
    const independent: DecisionRecord[] = [];
    const dependent: DecisionRecord[] = [];
    for (const record of segment.records) {
      if (needsOriginal(record) || needsHoldSettlement(record) || needsHoldRefresh(record)) dependent.push(record);
      else independent.push(record);
    }
    await this.replayAll(independent);
    await this.replayAll(dependent);
  }

  private async replayAll(records: DecisionRecord[]): Promise<void> {
    let next = 0;
    let failure: unknown;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < records.length && !this.closed) {
        const record = records[next] as DecisionRecord;
        next += 1;
        try {
          await this.inner.write(record, 'patient');
        } catch (error: unknown) {
          if (isTransientCassandraError(error)) {
            failure = error;
          } else {
            this.journal.deadLetter(record, describeError(error));
            this.deadLetters += 1;
            this.events.error({ err: describeError(error), idempotencyKey: record.idempotencyKey },
              'Cassandra refused a journaled decision for good: moved to the dead-letter file');
          }
        }
      }
    };
    const workers: Promise<void>[] = [];
    const count = Math.min(this.options.journal.replayConcurrency, Math.max(1, records.length));
    for (let index = 0; index < count; index += 1) workers.push(worker());
    await Promise.all(workers);
    if (failure !== undefined) throw failure;
    if (this.closed && next < records.length) throw new Error('closed during replay');
  }

  async findByIdempotencyKey(idempotencyKey: string): Promise<DecisionRecord | undefined> {
    const journaled = this.backlog.get(idempotencyKey);
    if (journaled !== undefined) return journaled;
    try {
      return await this.inner.findByIdempotencyKey(idempotencyKey);
    } catch (error: unknown) {
      // Cassandra known down: answer from what this instance holds; the ledger's own idempotency
      // still prevents a second hold for a repeat it does not find here.
      if (this.modeValue === 'journaling') return undefined;
      throw error;
    }
  }

  async recentForCard(cardId: string, limit: number): Promise<DecisionRecord[]> {
    let stored: DecisionRecord[] = [];
    try {
      stored = await this.inner.recentForCard(cardId, limit);
    } catch (error: unknown) {
      if (this.modeValue !== 'journaling') throw error;
    }
    if (this.backlog.size === 0) return stored;
    const merged = new Map<string, DecisionRecord>();
    for (const record of stored) merged.set(record.idempotencyKey, record);
    for (const record of this.backlog.values()) if (record.cardId === cardId) merged.set(record.idempotencyKey, record);
    return [...merged.values()].sort((left, right) => right.decidedAtMs - left.decidedAtMs).slice(0, limit);
  }

  /** Stops the replayer (a round in progress ends after its current writes), syncs the journal, closes both. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopReplayer();
    if (this.replaying !== undefined) await this.replaying;
    await this.journal.close();
    await this.inner.close();
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
