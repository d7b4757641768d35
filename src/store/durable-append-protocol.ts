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
  /** How long the finished batch's write() took, in microseconds (the disk's part of the persist time). */
  WriteMicros = 6,
}

export const CONTROL_SLOTS = Slot.WriteMicros + 1;

export interface AppendThreadData {
  fd: number;
  control: SharedArrayBuffer;
  batches: SharedArrayBuffer;
}
