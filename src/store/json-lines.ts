/**
 * Reads a file of JSON lines (the embedded decision log, the Cassandra journal's segments) a chunk
 * at a time. Not readFileSync(path, 'utf8'): a string holds at most 2^29 - 24 UTF-16 units in V8,
 * so a file past 512 MiB could not be read at all ("Cannot create a string longer than 0x1fffffe8
 * characters"), and a gateway whose decision log had grown that far could not start.
 */
import { fstatSync, readSync } from 'node:fs';

const NEWLINE = 0x0a;
/** Read this much at a time by default. */
const JSON_LINES_CHUNK_BYTES = 8 * 1024 * 1024;

export interface JsonLinesReadOptions {
  /** Bytes read per call (at least 1). */
  chunkBytes?: number;
  /**
   * The longest line worth parsing: longer ones cannot be what the writer wrote (it refuses larger
   * records) and are passed to onLine as unparsable without being gathered in memory.
   */
  maxLineBytes: number;
}

export interface JsonLinesSummary {
  /** The file's last byte was not a newline: its last line is torn (a crash mid-write). */
  endsTorn: boolean;
}

/**
 * Calls onLine for every non-empty line of the open file `fd`, from its start to its size when
 * called, in order, with the parsed value, or `undefined` when the line is not JSON (a torn or
 * over-long line).
 */
export function readJsonLines(fd: number, options: JsonLinesReadOptions,
  onLine: (value: unknown) => void): JsonLinesSummary {
  const chunkBytes = options.chunkBytes ?? JSON_LINES_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunkBytes must be 1 or more, not ${chunkBytes}`);
  const chunk = Buffer.allocUnsafe(chunkBytes);
  let carried: Buffer | undefined;
  /** Inside a line already found too long: its bytes are skipped up to its newline. */
  let skipping = false;
  let position = 0;
  let lastByte = NEWLINE;
  const emit = (bytes: Buffer, start: number, end: number): void => {
    if (end <= start) return;
    if (end - start > options.maxLineBytes) {
      onLine(undefined);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8', start, end));
    } catch {
      value = undefined;
    }
    onLine(value);
  };
  // Up to the size the file has now: what is appended meanwhile is not read, and a device that
  // never ends (/dev/zero, /dev/full report size 0) is not read at all.
  const size = fstatSync(fd).size;
  while (position < size) {
    const read = readSync(fd, chunk, 0, Math.min(chunk.length, size - position), position);
    if (read === 0) break;
    position += read;
    lastByte = chunk[read - 1]!;
    const bytes = carried === undefined ? chunk.subarray(0, read) : Buffer.concat([carried, chunk.subarray(0, read)]);
    carried = undefined;
    let lineStart = 0;
    for (let newline = bytes.indexOf(NEWLINE); newline !== -1; newline = bytes.indexOf(NEWLINE, lineStart)) {
      if (skipping) {
        skipping = false;
        onLine(undefined);
      } else {
        emit(bytes, lineStart, newline);
      }
      lineStart = newline + 1;
    }
    if (lineStart < bytes.length && !skipping) {
      // The chunk buffer is read into again: a line cut by the chunk's end is copied out, unless
      // it is already too long to be a record.
      if (bytes.length - lineStart <= options.maxLineBytes) carried = Buffer.from(bytes.subarray(lineStart));
      else skipping = true;
    }
  }
  if (skipping) onLine(undefined);
  else if (carried !== undefined) emit(carried, 0, carried.length);
  return { endsTorn: lastByte !== NEWLINE };
}
