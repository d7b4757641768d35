/** What the main thread and the append thread share (durable-append.ts, durable-append-thread.ts). */

/** Int32 slots of the control array. */
export const enum Slot {
  /** Sequence number of the latest batch submitted; the thread waits on it. */
  SubmittedSeq = 0,
  /** Byte offset and length of that batch in the batch buffer. */
  SubmittedStart = 1,
  SubmittedLength = 2,
  /** Sequence number of the latest batch the thread finished; the main thread waits on it. */
  DoneSeq = 3,
  /** 0 when that batch is on disk, else the (negative) errno of the failed write. */
  Errno = 4,
  /** 1: the thread returns at its next wake-up. */
  Stop = 5,
  /**
   * Where in the file the batch goes: position = high × 2^32 + low (unsigned halves), so a log can
   * pass 4 GiB. The file is written in place, not appended to (file-decision-log.ts says why).
   */
  SubmittedPositionHigh = 6,
  SubmittedPositionLow = 7,
  /** How long the finished batch's write() took, in microseconds (the disk's part of the persist time). */
  WriteMicros = 8,
}

export const CONTROL_SLOTS = Slot.WriteMicros + 1;

/** Splits a file position into the two slots' values. */
export function positionHalves(position: number): [high: number, low: number] {
  const high = Math.floor(position / 2 ** 32);
  return [high, (position - high * 2 ** 32) | 0];
}

/** The file position the two slots hold. */
export function positionOf(high: number, low: number): number {
  return high * 2 ** 32 + (low >>> 0);
}

export interface AppendThreadData {
  fd: number;
  /** Write at the submitted position (a regular file); false for a pipe or device, which has none. */
  positioned: boolean;
  control: SharedArrayBuffer;
  batches: SharedArrayBuffer;
}
