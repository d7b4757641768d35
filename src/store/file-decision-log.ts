/**
 * The embedded decision log: one JSON line per decision in a local file, made durable by group
 * commit. Appends made in the same event-loop turn are written together with one write() to a file
 * opened with O_DSYNC: the write returns only once the data is on disk, as write + fdatasync would,
 * in one system call and one thread-pool hop instead of two. Every append resolves only after its
 * batch's write: durability costs one disk flush per batch, not per decision (the commit-log
 * technique databases use). Up to two batches are in flight at once, so decisions that arrive
 * while one is being written start their own instead of waiting a whole flush for their turn.
 *
 * On start the file is read back to rebuild the lookups (by idempotency key, recent per card), so
 * duplicates and reversals still match after a restart. A torn last line (a crash mid-write) is
 * skipped: it was never acknowledged, so no answer depended on it.
 */
import {
  closeSync, constants, fstatSync, openSync, readFileSync, write, writeSync, existsSync, mkdirSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { DecisionLog, DecisionRecord } from '../authorise/decision-log';

/** Two: one syncing while the next is written; more would only queue on libuv's four threads. */
const MAX_BATCHES_IN_FLIGHT = 2;

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
}

export class FileDecisionLog implements DecisionLog {
  private readonly fd: number;
  private readonly byKey = new Map<string, DecisionRecord>();
  private readonly byCard = new Map<string, DecisionRecord[]>();
  private queue: PendingAppend[] = [];
  /** Batches written or syncing now, at most MAX_BATCHES_IN_FLIGHT. */
  private flushing = 0;
  private closed = false;
  private flushScheduled = false;
  private drained: (() => void) | undefined;

  constructor(private readonly options: FileDecisionLogOptions) {
    const directory = dirname(options.path);
    if (!existsSync(directory)) mkdirSync(directory, { recursive: true });
    this.fd = openSync(options.path,
      constants.O_APPEND | constants.O_CREAT | constants.O_RDWR | constants.O_DSYNC, 0o600);
    this.loadExisting();
  }

  get recordCount(): number {
    return this.byKey.size;
  }

  private loadExisting(): void {
    if (fstatSync(this.fd).size === 0) return;
    const text = readFileSync(this.options.path, 'utf8');
    // End a torn last line, so the next record starts on a line of its own instead of joining it.
    if (!text.endsWith('\n')) writeSync(this.fd, '\n');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        this.index(JSON.parse(line) as DecisionRecord);
      } catch {
        // A torn final line from a crash mid-write: never acknowledged, safe to skip.
      }
    }
  }

  private index(record: DecisionRecord): void {
    if (this.byKey.size >= this.options.maxKeys) {
      const oldest = this.byKey.keys().next().value;
      if (oldest !== undefined) this.byKey.delete(oldest);
    }
    this.byKey.set(record.idempotencyKey, record);
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
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      if (!this.flushScheduled && this.flushing < MAX_BATCHES_IN_FLIGHT) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.flushing >= MAX_BATCHES_IN_FLIGHT || this.queue.length === 0) return;
    this.flushing++;
    const batch = this.queue;
    this.queue = [];
    let text = '';
    for (const pending of batch) text += `${JSON.stringify(pending.record)}\n`;
    const bytes = Buffer.from(text, 'utf8');
    this.writeAll(bytes, 0, (error) => {
      if (error !== null) {
        this.settle(batch, error);
        return;
      }
      this.settle(batch, null);
    });
  };

  private writeAll(bytes: Buffer, offset: number, done: (error: Error | null) => void): void {
    write(this.fd, bytes, offset, bytes.length - offset, null, (error, written) => {
      if (error !== null) return done(error);
      if (offset + written < bytes.length) return this.writeAll(bytes, offset + written, done);
      done(null);
    });
  }

  private settle(batch: PendingAppend[], error: Error | null): void {
    for (const pending of batch) {
      if (error === null) {
        this.index(pending.record);
        pending.resolve();
      } else {
        pending.reject(error);
      }
    }
    this.flushing--;
    if (this.queue.length > 0) {
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    } else if (this.flushing === 0 && this.drained !== undefined) {
      this.drained();
    }
  }

  async findByIdempotencyKey(idempotencyKey: string): Promise<DecisionRecord | undefined> {
    return this.byKey.get(idempotencyKey);
  }

  async recentForCard(cardId: string, limit: number): Promise<DecisionRecord[]> {
    const recent = this.byCard.get(cardId) ?? [];
    return recent.slice(-limit).reverse();
  }

  /** Waits for queued appends to become durable, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushing > 0 || this.queue.length > 0) {
      await new Promise<void>((resolve) => { this.drained = resolve; });
    }
    closeSync(this.fd);
  }
}
