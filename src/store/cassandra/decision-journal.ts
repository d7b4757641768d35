/**
 * A local, fsync'd journal of decisions Cassandra could not take in time: segment files of one JSON
 * line per record, written by group commit (appends of one event-loop turn share one write() and
 * one fdatasync(), and each resolves only after that sync), as the embedded file-decision-log.ts does.
 *
 * Segments let the replayer work on closed files while new records go to a fresh one: `rotate()`
 * closes the active segment (after its last flush) and opens the next; a replayed segment is
 * deleted. The directory is fsync'd after every create and delete so the file names themselves
 * survive a power cut. On open, every segment left by an earlier process is read back (a torn last
 * line, from a crash mid-write, was never acknowledged and is skipped) and a new active segment is
 * started, so old and new records never share a file.
 *
 * One process per directory: a lock file holds the owner's pid.
 */
import {
  closeSync, existsSync, fdatasync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, write,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isDecisionRecord, type DecisionRecord } from '../../authorise/decision-log';
import { readJsonLines } from '../json-lines';

export interface JournalSegment {
  seq: number;
  path: string;
  records: DecisionRecord[];
}

interface PendingAppend {
  record: DecisionRecord;
  resolve: () => void;
  reject: (error: Error) => void;
}

const SEGMENT_PATTERN = /^segment-(\d{12})\.jsonl$/;
const LOCK_FILE = 'journal.lock';
const DEAD_LETTER_FILE = 'dead-letter.jsonl';
/** A decision record is about 700 bytes; a line past this is not one. */
const SEGMENT_LINE_BYTES_MAX = 1024 * 1024;

/** Directories locked by journals open in this process (a same-pid lock file is ours only if listed). */
const lockedHere = new Set<string>();

function segmentName(seq: number): string {
  return `segment-${String(seq).padStart(12, '0')}.jsonl`;
}

function fsyncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    // EPERM: it exists but belongs to someone else; still alive.
    return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function acquireLock(directory: string): void {
  const path = join(directory, LOCK_FILE);
  if (lockedHere.has(directory)) throw new Error(`decision journal ${directory} is already open in this process`);
  if (existsSync(path)) {
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new Error(`decision journal ${directory} is locked by live process ${pid}`);
    }
  }
  writeFileSync(path, `${process.pid}\n`);
  lockedHere.add(directory);
}

function releaseLock(directory: string): void {
  lockedHere.delete(directory);
  try {
    unlinkSync(join(directory, LOCK_FILE));
  } catch {
    // Already gone: nothing to release.
  }
}

function readSegment(path: string): { records: DecisionRecord[]; skipped: number } {
  const records: DecisionRecord[] = [];
  let skipped = 0;
  const fd = openSync(path, 'r');
  try {
    // In chunks (json-lines.ts): a segment is bounded by the backlog limit, not by V8's longest string.
    readJsonLines(fd, { maxLineBytes: SEGMENT_LINE_BYTES_MAX }, (value) => {
      if (isDecisionRecord(value)) records.push(value);
      else skipped += 1;
    });
  } finally {
    closeSync(fd);
  }
  return { records, skipped };
}

export class DecisionJournal {
  private readonly closed: JournalSegment[] = [];
  private active: JournalSegment;
  private fd: number;
  private queue: PendingAppend[] = [];
  private flushing = false;
  private flushScheduled = false;
  private idleWaiters: (() => void)[] = [];
  private isClosed = false;
  /** Lines skipped while loading segments (torn or foreign). */
  readonly skippedOnLoad: number;

  private constructor(private readonly directory: string) {
    let maxSeq = 0;
    let skipped = 0;
    const names = readdirSync(directory).filter((name) => SEGMENT_PATTERN.test(name)).sort();
    for (const name of names) {
      const seq = Number(SEGMENT_PATTERN.exec(name)?.[1]);
      const path = join(directory, name);
      const loaded = readSegment(path);
      skipped += loaded.skipped;
      if (seq > maxSeq) maxSeq = seq;
      if (loaded.records.length === 0) {
        unlinkSync(path);
        continue;
      }
      this.closed.push({ seq, path, records: loaded.records });
    }
    this.skippedOnLoad = skipped;
    this.active = { seq: maxSeq + 1, path: join(directory, segmentName(maxSeq + 1)), records: [] };
    this.fd = openSync(this.active.path, 'a');
    fsyncDirectory(directory);
  }

  /** Opens (creating when missing) and locks the directory; loads segments left by an earlier run. */
  static open(directory: string): DecisionJournal {
    if (!existsSync(directory)) mkdirSync(directory, { recursive: true });
    acquireLock(directory);
    try {
      return new DecisionJournal(directory);
    } catch (error: unknown) {
      releaseLock(directory);
      throw error;
    }
  }

  /** Segments closed for writing, oldest first, each still to be replayed. */
  get closedSegments(): readonly JournalSegment[] {
    return this.closed;
  }

  /** Records durable in the active segment. */
  get activeRecords(): number {
    return this.active.records.length;
  }

  /** Records accepted but not yet synced. */
  get pendingRecords(): number {
    return this.queue.length + (this.flushing ? 1 : 0);
  }

  append(record: DecisionRecord): Promise<void> {
    if (this.isClosed) return Promise.reject(new Error('decision journal is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      if (!this.flushScheduled && !this.flushing) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue;
    this.queue = [];
    let text = '';
    for (const pending of batch) text += `${JSON.stringify(pending.record)}\n`;
    const bytes = Buffer.from(text, 'utf8');
    const segment = this.active;
    const fd = this.fd;
    this.writeAll(fd, bytes, 0, (error) => {
      if (error !== null) {
        this.settle(segment, batch, error);
        return;
      }
      fdatasync(fd, (syncError) => this.settle(segment, batch, syncError));
    });
  };

  private writeAll(fd: number, bytes: Buffer, offset: number, done: (error: Error | null) => void): void {
    write(fd, bytes, offset, bytes.length - offset, null, (error, written) => {
      if (error !== null) return done(error);
      if (offset + written < bytes.length) return this.writeAll(fd, bytes, offset + written, done);
      done(null);
    });
  }

  private settle(segment: JournalSegment, batch: PendingAppend[], error: Error | null): void {
    for (const pending of batch) {
      if (error === null) {
        segment.records.push(pending.record);
        pending.resolve();
      } else {
        pending.reject(error);
      }
    }
    this.flushing = false;
    if (this.queue.length > 0) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  private waitForFlush(): Promise<void> {
    if (!this.flushing) return Promise.resolve();
    return new Promise<void>((resolve) => { this.idleWaiters.push(resolve); });
  }

  /**
   * Closes the active segment for replay and starts the next one. Records queued but not yet flushed
   * go to the new segment. Returns the closed segment, or undefined when it held nothing.
   */
  async rotate(): Promise<JournalSegment | undefined> {
    await this.waitForFlush();
    // From here to the swap nothing awaits, so no flush can start on the old descriptor.
    if (this.isClosed || this.active.records.length === 0 || this.flushing) return undefined;
    const finished = this.active;
    closeSync(this.fd);
    this.closed.push(finished);
    const seq = finished.seq + 1;
    this.active = { seq, path: join(this.directory, segmentName(seq)), records: [] };
    this.fd = openSync(this.active.path, 'a');
    fsyncDirectory(this.directory);
    return finished;
  }

  /** Deletes a closed segment whose records are all in Cassandra. */
  removeSegment(segment: JournalSegment): void {
    const index = this.closed.indexOf(segment);
    if (index < 0) return;
    this.closed.splice(index, 1);
    unlinkSync(segment.path);
    fsyncDirectory(this.directory);
  }

  /** Keeps a record Cassandra refuses for good (not a timeout) for an operator, out of the replay path. */
  deadLetter(record: DecisionRecord, reason: string): void {
    const fd = openSync(join(this.directory, DEAD_LETTER_FILE), 'a');
    try {
      writeFileSync(fd, `${JSON.stringify({ reason, record })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Waits for queued appends to be durable, closes the file; an empty active segment is removed. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    while (this.flushing || this.queue.length > 0) {
      if (!this.flushing && !this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
      await new Promise<void>((resolve) => { this.idleWaiters.push(resolve); });
    }
    this.isClosed = true;
    closeSync(this.fd);
    if (this.active.records.length === 0) {
      unlinkSync(this.active.path);
      fsyncDirectory(this.directory);
    }
    releaseLock(this.directory);
  }
}
