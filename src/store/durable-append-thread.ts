/**
 * The thread behind DurableAppender (durable-append.ts): waits for a submitted batch, writes it to
 * the O_DSYNC file descriptor it was given, and publishes that the batch is on disk. It runs no
 * event loop work of its own; everything it shares with the main thread is in two SharedArrayBuffers.
 */
import { writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { workerData } from 'node:worker_threads';
import { Slot, type AppendThreadData } from './durable-append-protocol';

function run(data: AppendThreadData): void {
  const control = new Int32Array(data.control);
  const bytes = new Uint8Array(data.batches);
  let handled = 0;
  for (;;) {
    // Sleeps until the main thread submits the next batch (or asks it to stop).
    Atomics.wait(control, Slot.SubmittedSeq, handled);
    if (Atomics.load(control, Slot.Stop) === 1) return;
    const seq = Atomics.load(control, Slot.SubmittedSeq);
    const start = Atomics.load(control, Slot.SubmittedStart);
    const length = Atomics.load(control, Slot.SubmittedLength);
    const startedMs = performance.now();
    let errno = 0;
    try {
      for (let written = 0; written < length;) {
        written += writeSync(data.fd, bytes, start + written, length - written);
      }
    } catch (error: unknown) {
      const code = (error as { errno?: unknown }).errno;
      errno = typeof code === 'number' && code !== 0 ? code : -5; // EIO when the error carries none
    }
    Atomics.store(control, Slot.WriteMicros, Math.min(0x7fffffff, Math.round((performance.now() - startedMs) * 1000)));
    Atomics.store(control, Slot.Errno, errno);
    Atomics.store(control, Slot.DoneSeq, seq);
    Atomics.notify(control, Slot.DoneSeq);
    handled = seq;
  }
}

run(workerData as AppendThreadData);
