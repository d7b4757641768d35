/**
 * Idempotency keys from the network message (domain brief section 6).
 *
 * A request is the same request when its message class and function, DE 32 (acquirer), DE 11
 * (STAN) and DE 7 (transmission date and time) are the same: that is what a repeat (xx01) and a
 * network retransmission share, and what DE 90 of a reversal names. The MTI's class and function
 * are part of the key because a reversal may reuse its original's STAN and DE 7 (Visa partial
 * reversals do). When DE 7 or DE 32 is missing, DE 37 (RRN) with the card's hash is the fallback.
 * STAN wraps and DE 7 has no year, so keys are kept only for a bounded window (the ledger's
 * retention), never for ever.
 */
import type { SchemeRequest } from './scheme-request';

export function idempotencyKeyOf(request: SchemeRequest, panHash: string): string {
  const classFunction = request.mti.slice(1, 3);
  if (request.transmissionDateTime !== '' && request.acquirerId !== '') {
    return `${classFunction}:${request.acquirerId}:${request.stan}:${request.transmissionDateTime}`;
  }
  return `${classFunction}:rrn:${request.rrn}:${request.stan}:${panHash.slice(0, 16)}`;
}

/** The key the original authorisation had, from a reversal's or advice's usable DE 90. */
export function originalKeyOf(request: SchemeRequest): string | undefined {
  const original = request.original;
  if (original === undefined) return undefined;
  const acquirerId = original.acquirerId !== '' ? original.acquirerId : request.acquirerId;
  return `${original.mti.slice(1, 3)}:${acquirerId}:${original.stan}:${original.transmissionDateTime}`;
}
