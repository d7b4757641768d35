/**
 * Durable appends to a file opened with O_DSYNC, written by a thread of their own so the event loop
 * never waits for the disk.
 *
 * Two halves of one shared buffer: the caller fills one while the thread writes the other, and a
 * batch is submitted only once the previous one is on disk, so there is one write in flight at a
 * time and everything that arrived meanwhile goes in the next (group commit, with the batch growing
 * with the disk's latency instead of with the event loop's turns). Submitting is two stores and a
 * notify on a shared Int32Array; completion is a store the caller polls for free on every turn
 * (`poll`), and each batch also has a `whenDone` (Atomics.waitAsync) that wakes an idle loop. When a
 * turn's poll got there first, that wake-up finds nothing left to do; it is the price of not
 * sleeping through a finished batch.
 *
 * Why not fs.write on libuv's thread pool: this project measured that (bench/results/notes.md).
 * Each batch's completion waited for the loop to come round to the pool's wake-up behind every
 * socket read, and the gateway's p99 at 5,000/s was 8-9 ms against 4.5-5.6 ms for a synchronous
 * write on the loop. Polling the shared counter each turn settles a batch in the first turn after
 * the disk finished, whichever phase notices it.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CONTROL_SLOTS, Slot, type AppendThreadData } from './durable-append-protocol';

export class DurableAppender {
  private readonly control: Int32Array;
  private readonly halves: readonly [Buffer, Buffer];
  private readonly halfBytes: number;
  private readonly thread: Worker;
  private fillHalf = 0;
  private submitted = 0;
  private done = 0;
  private threadFailure: Error | undefined;

  /**
   * `onThreadFailure` runs if the thread dies: nothing in flight will complete. `threadScript` is
   * for tests (a thread that fails); the gateway always runs durable-append-thread.js.
   */
  constructor(fd: number, halfBytes: number, onThreadFailure: (error: Error) => void,
    threadScript: string = join(__dirname, 'durable-append-thread.js')) {
    const control = new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT);
    const batches = new SharedArrayBuffer(halfBytes * 2);
    this.control = new Int32Array(control);
    this.halfBytes = halfBytes;
    this.halves = [Buffer.from(batches, 0, halfBytes), Buffer.from(batches, halfBytes, halfBytes)];
    const workerData: AppendThreadData = { fd, control, batches };
    this.thread = new Worker(threadScript, { workerData, name: 'decision-log-writer' });
    const failed = (error: Error): void => {
      if (this.threadFailure !== undefined) return;
      this.threadFailure = error;
      onThreadFailure(error);
    };
    this.thread.on('error', failed);
    this.thread.on('exit', (code) => {
      if (Atomics.load(this.control, Slot.Stop) !== 1) failed(new Error(`decision log writer thread exited (code ${code})`));
    });
  }

  /** Set once the thread has died; every later append must fail. */
  get failure(): Error | undefined {
    return this.threadFailure;
  }

  /** A batch is on its way to disk. */
  get busy(): boolean {
    return this.submitted !== this.done;
  }

  /** The half to fill next; its bytes are free until the next `submit`. */
  get fillBuffer(): Buffer {
    return this.fillHalf === 0 ? this.halves[0] : this.halves[1];
  }

  /** Hands `length` bytes of fillBuffer, from `offset`, to the thread. Only when not busy. */
  submit(offset: number, length: number): void {
    const control = this.control;
    Atomics.store(control, Slot.SubmittedStart, this.fillHalf * this.halfBytes + offset);
    Atomics.store(control, Slot.SubmittedLength, length);
    this.submitted++;
    Atomics.store(control, Slot.SubmittedSeq, this.submitted);
    Atomics.notify(control, Slot.SubmittedSeq);
    this.fillHalf ^= 1;
  }

  /**
   * Once the batch in flight is finished: 0 when it is on disk, else the write's (negative) errno;
   * undefined while it is still being written or when nothing is in flight.
   */
  poll(): number | undefined {
    if (this.submitted === this.done || Atomics.load(this.control, Slot.DoneSeq) !== this.submitted) return undefined;
    this.done = this.submitted;
    return Atomics.load(this.control, Slot.Errno);
  }

  /** How long the last finished batch's write() took, in seconds: read after `poll` reported it. */
  get lastWriteSeconds(): number {
    return Atomics.load(this.control, Slot.WriteMicros) / 1e6;
  }

  /** Resolves when the batch in flight is finished (at once if it already is). */
  whenDone(): Promise<unknown> {
    const waiting = Atomics.waitAsync(this.control, Slot.DoneSeq, this.submitted - 1);
    return waiting.async ? waiting.value : Promise.resolve();
  }

  /** Ends the thread. Refused while a batch is in flight: the thread would leave it unwritten. */
  async stop(): Promise<void> {
    if (this.busy && this.threadFailure === undefined) throw new Error('a batch is still being written');
    Atomics.store(this.control, Slot.Stop, 1);
    Atomics.add(this.control, Slot.SubmittedSeq, 1);
    Atomics.notify(this.control, Slot.SubmittedSeq);
    if (this.threadFailure !== undefined) return;
    await new Promise<void>((resolve) => this.thread.once('exit', () => resolve()));
  }
}
