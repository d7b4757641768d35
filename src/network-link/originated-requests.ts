/**
 * Requests the link originates (sign-on, echo, sign-off), waiting for their responses.
 *
 * A response is matched by a configurable key (default: MTI class, DE 11, DE 41, as jPOS's QMUX
 * does). Each waiting request has a deadline; a response that arrives after it, or matches
 * nothing, is reported to the caller to count and log, never thrown. These are a few messages a
 * minute, so a Map, a string key and a timer each are fine here; the financial path uses none.
 */
import type { IsoMessage } from '../iso8583';
import { mtiMatchClass } from './message-types';

export type OriginatedOutcome = 'matched' | 'late' | 'unknown';

/** Called exactly once per request: with the response, or with undefined on timeout or close. */
export type OriginatedCallback = (response: IsoMessage | undefined, roundTripMs: number) => void;

interface Waiting {
  readonly callback: OriginatedCallback;
  readonly sentMs: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * Keys of timed-out requests kept to tell "late" from "unknown" responses. 32 covers several
 * minutes of unanswered echoes; older ones are simply reported as unknown.
 */
const EXPIRED_KEYS_KEPT = 32;

export class OriginatedRequests {
  private readonly keyParts: readonly string[];
  private readonly waiting = new Map<string, Waiting>();
  private readonly expiredKeys: string[] = [];

  constructor(keyParts: readonly string[]) {
    this.keyParts = keyParts;
  }

  get size(): number {
    return this.waiting.size;
  }

  keyOf(message: IsoMessage): string {
    let key = '';
    for (const part of this.keyParts) {
      key += part === 'mti' ? mtiMatchClass(message.mti) : (message.getString(Number(part)) ?? '');
      key += '|';
    }
    return key;
  }

  /** False when a request with the same key is already waiting (the caller must not send it). */
  register(request: IsoMessage, timeoutMs: number, nowMs: number, callback: OriginatedCallback): boolean {
    const key = this.keyOf(request);
    if (this.waiting.has(key)) return false;
    const timer = setTimeout(() => this.expire(key), timeoutMs);
    timer.unref();
    this.waiting.set(key, { callback, sentMs: nowMs, timer });
    return true;
  }

  /** Settles the request this response answers, if any. */
  complete(response: IsoMessage, nowMs: number): OriginatedOutcome {
    const key = this.keyOf(response);
    const entry = this.waiting.get(key);
    if (entry === undefined) return this.expiredKeys.includes(key) ? 'late' : 'unknown';
    this.waiting.delete(key);
    clearTimeout(entry.timer);
    entry.callback(response, nowMs - entry.sentMs);
    return 'matched';
  }

  /** Fails every waiting request (connection closed). */
  cancelAll(): void {
    const entries = [...this.waiting.values()];
    this.waiting.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.callback(undefined, 0);
    }
  }

  private expire(key: string): void {
    const entry = this.waiting.get(key);
    if (entry === undefined) return;
    this.waiting.delete(key);
    this.expiredKeys.push(key);
    if (this.expiredKeys.length > EXPIRED_KEYS_KEPT) this.expiredKeys.shift();
    entry.callback(undefined, 0);
  }
}
