/**
 * Requests waiting for their decision, in deadline order, with one timer for all of them.
 *
 * Every request gets the same budget from its arrival, so arrival order is deadline order, and the
 * queue is nearly a FIFO: push at the tail, expire from the head. Nearly: a request's arrival is
 * the socket read that completed its frame, and a frame held on one connection (at its in-flight
 * limit) can be handed over after newer frames from another, so push walks back from the tail to
 * its place (a step or two at most in practice). One timer is armed for the head's deadline
 * instead of one setTimeout per request. Entries that were answered in time stay in the queue until
 * they reach the head and are skipped then (lazy deletion), so completing a request costs nothing
 * here.
 */
export interface Deadlined {
  /** performance.now() at which the stand-in answer is due. */
  readonly standInAtMs: number;
  /** True once answered (by the decision or by the stand-in). */
  readonly answered: boolean;
}

export class DeadlineQueue<T extends Deadlined> {
  private entries: (T | undefined)[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly onExpired: (entry: T) => void, private readonly now: () => number) {}

  get size(): number {
    return this.entries.length - this.head;
  }

  push(entry: T): void {
    const entries = this.entries;
    let index = entries.length;
    while (index > this.head && (entries[index - 1] as T).standInAtMs > entry.standInAtMs) index--;
    if (index === entries.length) entries.push(entry);
    else entries.splice(index, 0, entry);
    if (this.timer === undefined) {
      this.arm(entry.standInAtMs);
    } else if (index === this.head) {
      // Due before everything queued: the armed timer is for a later deadline.
      clearTimeout(this.timer);
      this.arm(entry.standInAtMs);
    }
  }

  private arm(atMs: number): void {
    // Rounded up: a timer that fires a hair early would find nothing due and re-arm in a loop.
    this.timer = setTimeout(this.expire, Math.max(0, Math.ceil(atMs - this.now())));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const nowMs = this.now();
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head] as T;
      if (!entry.answered && entry.standInAtMs > nowMs) {
        this.arm(entry.standInAtMs);
        break;
      }
      this.entries[this.head] = undefined;
      this.head++;
      if (!entry.answered) this.onExpired(entry);
    }
    this.compact();
  };

  /** Drops answered entries at the head so memory follows in-flight work, not history. */
  private compact(): void {
    while (this.head < this.entries.length && (this.entries[this.head] as T).answered) {
      this.entries[this.head] = undefined;
      this.head++;
    }
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Called after an entry is answered, so a long run of answered heads does not pile up. */
  settle(): void {
    if (this.head < this.entries.length && (this.entries[this.head] as T).answered) {
      this.compact();
      if (this.size === 0 && this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    }
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.entries = [];
    this.head = 0;
  }
}
