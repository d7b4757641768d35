/**
 * The embedded decision log: one JSON line per decision in a local file, made durable by group
 * commit. The file is opened with O_DSYNC, so a write() returns only once its data is on disk, as
 * write + fdatasync would, in one system call. Writes are made by a thread of their own
 * (durable-append.ts), one batch at a time: decisions appended while a batch is being written are
 * serialised into the other half of a shared buffer and go together in the next write. Every
 * append resolves only after its own batch's write: durability costs one disk flush per batch, not
 * per decision (the commit-log technique databases use).
 *
 * How the write is made was measured three ways on this machine (bench/results/notes.md): on
 * libuv's thread pool, each batch waited for the loop to come round to the pool's wake-up; a
 * synchronous write on the event loop was better, but held the main thread in the disk for a third
 * to a half of its time at 8,000/s; the writer thread frees that time and settles a batch in the
 * first turn after the disk finished (interleaved A/B ladders: p99 at 10,000/s 8.8-13.5 ms against
 * 18.7-35.4 ms for the synchronous write in the same minutes). A stalled disk now stalls only the
 * writer: decisions waiting on it miss their deadline and are answered by the stand-in policy.
 *
 * On start the file is read back to rebuild the lookups (by idempotency key, recent per card), so
 * duplicates and reversals still match after a restart. A torn last line (a crash mid-write) is
 * skipped: it was never acknowledged, so no answer depended on it.
 */
import {
  closeSync, constants, openSync, writeSync, existsSync, mkdirSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { getSystemErrorName } from 'node:util';
import { LRUCache } from 'lru-cache';
import { isDecisionRecord, type DecisionLog, type DecisionRecord } from '../authorise/decision-log';
import { DurableAppender } from './durable-append';
import { readJsonLines } from './json-lines';

const NEWLINE = 0x0a;
/** Consecutive failed writes after which the log reports itself unwritable (until one succeeds). */
const FAILED_BATCHES_UNWRITABLE = 3;
/** Where each batch's first line starts in its half: byte 0 is kept for a fresh-line newline. */
const FIRST_LINE_AT = 1;
/** Each half of the writer's buffer: about 1,400 decisions of about 700 bytes. */
const WRITE_HALF_BYTES = 1024 * 1024;

/** The thread reports a negative errno (EIO when the error carried none), which always has a name. */
function writeFailure(errno: number): Error {
  const name = getSystemErrorName(errno);
  return Object.assign(new Error(`${name}: decision log write failed`), { code: name, errno });
}

interface PendingAppend {
  record: DecisionRecord;
  resolve: () => void;
  reject: (error: Error) => void;
}

export interface FileDecisionLogOptions {
  path: string;
  /** Newest decisions kept per card for GET /v1/decisions. */
  recentPerCard: number;
  /** Idempotency keys remembered in memory for duplicate and reversal matching. */
  maxKeys: number;
  /** Called once if the writer thread dies; every append from then on is refused. */
  onWriterFailure?: (error: Error) => void;
  /** Tests only: another writer thread speaking the same protocol (to make writes fail). */
  writerThreadScript?: string;
  /** After each batch on disk: how long its write() took in the writer thread (the disk's part). */
  onBatchWritten?: (writeSeconds: number) => void;
  /** Tests only: the chunk size the file is read back in on start (default 8 MiB). */
  loadChunkBytes?: number;
}

export class FileDecisionLog implements DecisionLog {
  private readonly fd: number;
  /**
   * Records by idempotency key, at most maxKeys, the least recently used evicted first (lru-cache;
   * see the Authoriser's recent decisions). Undefined when maxKeys is 0: no record is found by key.
   */
  private readonly byKey: LRUCache<string, DecisionRecord> | undefined;
  private readonly byCard = new Map<string, DecisionRecord[]>();
  private readonly appender: DurableAppender;
  /** Appended this turn, not yet serialised. */
  private queue: PendingAppend[] = [];
  /**
   * Serialised into the fill half (from FIRST_LINE_AT to fillEnd), waiting for the batch in flight.
   * Byte 0 is kept for a newline, put there at submit time if the batch before failed.
   */
  private filling: PendingAppend[] = [];
  private fillEnd = FIRST_LINE_AT;
  /** On its way to disk. */
  private inFlight: PendingAppend[] = [];
  private whenIdle: (() => void) | undefined;
  private closed = false;
  private flushScheduled = false;
  /** After a failed write the file may end in part of a line: the next batch starts on a fresh one. */
  private failedBatchesInARow = 0;

  constructor(private readonly options: FileDecisionLogOptions) {
    const directory = dirname(options.path);
    if (!existsSync(directory)) mkdirSync(directory, { recursive: true });
    this.byKey = options.maxKeys > 0 ? new LRUCache<string, DecisionRecord>({ max: options.maxKeys }) : undefined;
    this.fd = openSync(options.path,
      constants.O_APPEND | constants.O_CREAT | constants.O_RDWR | constants.O_DSYNC, 0o600);
    try {
      this.loadExisting();
    } catch (error: unknown) {
      closeSync(this.fd);
      throw error;
    }
    this.appender = new DurableAppender(this.fd, WRITE_HALF_BYTES, this.failAll, options.writerThreadScript);
  }

  /**
   * False once the writer thread has died, or while writes keep failing (a full or failing disk):
   * every decision is then answered 91, and readiness says so.
   */
  get writable(): boolean {
    return this.appender.failure === undefined && this.failedBatchesInARow < FAILED_BATCHES_UNWRITABLE;
  }

  get recordCount(): number {
    return this.byKey?.size ?? 0;
  }

  /** Reads the file back (json-lines.ts: in chunks, so its size is not bounded by V8's longest string). */
  private loadExisting(): void {
    const read = readJsonLines(this.fd, { chunkBytes: this.options.loadChunkBytes, maxLineBytes: WRITE_HALF_BYTES },
      (value) => {
        // A torn line (a crash or a failed write mid-batch) was never acknowledged: skipped.
        if (isDecisionRecord(value)) this.index(value);
      });
    // End a torn last line, so the next record starts on a line of its own instead of joining it.
    if (read.endsTorn) writeSync(this.fd, '\n');
  }

  private index(record: DecisionRecord): void {
    this.byKey?.set(record.idempotencyKey, record);
    if (record.cardId === '') return;
    let recent = this.byCard.get(record.cardId);
    if (recent === undefined) {
      recent = [];
      this.byCard.set(record.cardId, recent);
    }
    recent.push(record);
    if (recent.length > this.options.recentPerCard) recent.shift();
  }

  append(record: DecisionRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('decision log is closed'));
    if (this.appender.failure !== undefined) return Promise.reject(this.appender.failure);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** The local file has no hot bound to miss: the same group commit. */
  appendPatiently(record: DecisionRecord): Promise<void> {
    return this.append(record);
  }

  /**
   * Each turn: settle the batch in flight if the disk has finished it, put what arrived into the
   * half being filled, and submit that half if nothing is in flight.
   */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    this.advance();
  };

  /** Also run when the thread finishes a batch (or finds nothing to settle if a turn noticed first). */
  private readonly advance = (): void => {
    this.collect();
    this.fill();
    if (!this.appender.busy && this.filling.length > 0) this.submit();
  };

  /** Serialises queued appends into the fill half, as many as fit. */
  private fill(): void {
    const queue = this.queue;
    if (queue.length === 0) return;
    const target = this.appender.fillBuffer;
    let end = this.fillEnd;
    let taken = 0;
    // Into an empty fill half the whole queue usually fits: it becomes the half's list as it is.
    const filling = this.filling.length === 0 ? queue : this.filling;
    let kept = filling === queue ? 0 : filling.length;
    for (; taken < queue.length; taken++) {
      const pending = queue[taken]!;
      const line = JSON.stringify(pending.record);
      // UTF-8 needs at most 3 bytes per UTF-16 unit; the rest waits for the next half. A record
      // that would not fit even an empty half can never be written: it is refused.
      if (end + line.length * 3 + 1 > target.length) {
        if (end === FIRST_LINE_AT) {
          pending.reject(new Error(`decision record of ${line.length} characters exceeds the write buffer`));
          continue;
        }
        break;
      }
      end += target.write(line, end, 'utf8');
      target[end++] = NEWLINE;
      filling[kept++] = pending;
    }
    this.fillEnd = end;
    const rest = taken === queue.length ? [] : queue.slice(taken);
    filling.length = kept;
    this.filling = filling;
    this.queue = rest;
  }

  private submit(): void {
    this.inFlight = this.filling;
    this.filling = [];
    let start = FIRST_LINE_AT;
    if (this.failedBatchesInARow > 0) this.appender.fillBuffer[--start] = NEWLINE;
    this.appender.submit(start, this.fillEnd - start);
    this.fillEnd = FIRST_LINE_AT;
    this.appender.whenDone().then(this.advance, this.advance);
  }

  /** Settles the batch in flight once it is finished: indexed and resolved, or all rejected. */
  private collect(): void {
    const errno = this.appender.poll();
    if (errno === undefined) return;
    const batch = this.inFlight;
    this.inFlight = [];
    this.failedBatchesInARow = errno === 0 ? 0 : this.failedBatchesInARow + 1;
    if (errno === 0) {
      this.options.onBatchWritten?.(this.appender.lastWriteSeconds);
      for (const pending of batch) {
        this.index(pending.record);
        pending.resolve();
      }
    } else {
      const failure = writeFailure(errno);
      for (const pending of batch) pending.reject(failure);
    }
    this.whenIdle?.();
  }

  /** The writer thread died: nothing in flight or queued can become durable. */
  private readonly failAll = (error: Error): void => {
    this.options.onWriterFailure?.(error);
    for (const pending of [...this.inFlight, ...this.filling, ...this.queue]) pending.reject(error);
    this.inFlight = [];
    this.filling = [];
    this.fillEnd = FIRST_LINE_AT;
    this.queue = [];
    this.whenIdle?.();
  };

  async findByIdempotencyKey(idempotencyKey: string): Promise<DecisionRecord | undefined> {
    return this.byKey?.get(idempotencyKey);
  }

  async recentForCard(cardId: string, limit: number): Promise<DecisionRecord[]> {
    const recent = this.byCard.get(cardId) ?? [];
    return recent.slice(-limit).reverse();
  }

  /** Writes queued appends (they become durable and resolve), then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.appender.failure === undefined
      && (this.appender.busy || this.filling.length > 0 || this.queue.length > 0)) {
      if (this.appender.busy) {
        await new Promise<void>((resolve) => { this.whenIdle = resolve; });
        this.whenIdle = undefined;
      }
      this.flush();
    }
    await this.appender.stop();
    closeSync(this.fd);
  }
}
