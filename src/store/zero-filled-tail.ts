/**
 * Keeps the decision log's file zero-filled, and those zeros on disk, some way ahead of where its
 * batches are written, so each O_DSYNC batch overwrites blocks the file already has instead of
 * appending.
 *
 * Why: on ext4 an O_DSYNC write that grows the file must also commit the new size (and the blocks
 * it allocates) through the journal, whose commit runs in a kernel thread (jbd2) that has to get a
 * CPU first. Measured here (bench/results/notes.md, sixth session), 2,000 writes of 2,000 bytes with
 * both cores kept busy: appending, p90 0.29-3.9 ms and p99 4.0 ms; overwriting zero-filled blocks,
 * p90 0.05 ms and p99 0.11-0.24 ms. Write-ahead logs do the same (PostgreSQL fills each WAL
 * segment with zeros before use; TigerBeetle lays its journal out in advance).
 *
 * The zeros are written on libuv's thread pool through a descriptor of their own (no O_DSYNC) and
 * flushed with one fdatasync per chunk: none of it is on the hot path. A chunk is never written
 * where a batch may be written at the same time: the log asks `mayWrite` before each batch, and a
 * chunk starts at least `guardBytes` past the write position at the moment it starts. A batch the
 * tail refuses waits for the chunk to finish; a failed fill only ends the preparing (batches then
 * grow the file, as before), it never fails a decision.
 *
 * NUL never appears in a JSON line (JSON.stringify escapes it and UTF-8 never encodes a character
 * with a zero byte), so the log's end is after its last non-zero byte (`dataEndOf`).
 */
import { closeSync, fdatasync, fstatSync, openSync, readSync, write } from 'node:fs';
import { promisify } from 'node:util';

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);

/** Zeros are written this many bytes per call. */
const ZERO_WRITE_BYTES = 1024 * 1024;
/** Read this many bytes per step when looking backwards for the end of the data. */
const SCAN_BYTES = 1024 * 1024;

export interface ZeroFilledTailOptions {
  /** Prepare another chunk when fewer than this many bytes are ready past the write position. */
  aheadBytes: number;
  /** Bytes per chunk: one fdatasync each. */
  chunkBytes: number;
  /** A chunk starts at least this far past the write position (more than a batch can hold). */
  guardBytes: number;
  /** Called when a chunk finishes (a refused batch may go now), with the error if it failed. */
  onChunkDone: (error: Error | undefined) => void;
}

export class ZeroFilledTail {
  private readonly fd: number;
  /** Zero-filled and flushed up to here (past it the file may not even exist yet). */
  private readyEnd: number;
  /** The chunk being written, if any, and its completion. */
  private filling: { start: number; end: number; done: Promise<void> } | undefined;
  private failure: Error | undefined;
  private closed = false;
  private readonly zeros = Buffer.alloc(ZERO_WRITE_BYTES);

  /** `path`: the log's file; `readyEnd`: its size now (zeros past the data are ready already). */
  constructor(path: string, readyEnd: number, private readonly options: ZeroFilledTailOptions) {
    if (options.guardBytes < 0 || options.chunkBytes < 1 || options.aheadBytes < 0) {
      throw new RangeError('zero-filled tail: byte counts must be positive');
    }
    this.fd = openSync(path, 'r+');
    this.readyEnd = readyEnd;
  }

  /** Bytes zero-filled and flushed past `position`. */
  readyPast(position: number): number {
    return Math.max(0, this.readyEnd - position);
  }

  /** A chunk is being written. */
  get busy(): boolean {
    return this.filling !== undefined;
  }

  /** Set when a chunk failed: no more are prepared. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** May a batch be written at [start, end) now? Not while a chunk is being written over that range. */
  mayWrite(start: number, end: number): boolean {
    const filling = this.filling;
    return filling === undefined || end <= filling.start || start >= filling.end;
  }

  /** After a batch was handed to the writer: prepares the next chunk if too little is ready past `writeEnd`. */
  keepAhead(writeEnd: number): void {
    if (this.closed || this.filling !== undefined || this.failure !== undefined) return;
    if (this.readyEnd - writeEnd >= this.options.aheadBytes) return;
    const start = Math.max(this.readyEnd, writeEnd + this.options.guardBytes);
    const end = start + this.options.chunkBytes;
    const done = this.fill(start, end).then(() => {
      this.readyEnd = end;
      this.filling = undefined;
      this.options.onChunkDone(undefined);
    }, (error: unknown) => {
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.filling = undefined;
      this.options.onChunkDone(this.failure);
    });
    this.filling = { start, end, done };
  }

  private async fill(start: number, end: number): Promise<void> {
    for (let position = start; position < end;) {
      const { bytesWritten } = await writeAsync(this.fd, this.zeros, 0, Math.min(this.zeros.length, end - position), position);
      position += bytesWritten;
    }
    await fdatasyncAsync(this.fd);
  }

  /** Waits for a chunk being written, then closes the descriptor; no chunk starts after this. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.filling?.done;
    closeSync(this.fd);
  }
}

/**
 * Where the data of the open file `fd` ends: after its last non-zero byte, looking back from its
 * size (a zero-filled tail, or blocks a crash left unwritten, read as zeros).
 */
export function dataEndOf(fd: number): number {
  const buffer = Buffer.allocUnsafe(SCAN_BYTES);
  let end = fstatSync(fd).size;
  while (end > 0) {
    const start = Math.max(0, end - SCAN_BYTES);
    const read = readSync(fd, buffer, 0, end - start, start);
    if (read !== end - start) throw new Error(`short read looking for the end of the data: ${read} of ${end - start} bytes at ${start}`);
    for (let index = read - 1; index >= 0; index--) {
      if (buffer[index] !== 0) return start + index + 1;
    }
    end = start;
  }
  return 0;
}
