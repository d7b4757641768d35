/**
 * DE 38 approval codes. Derived from the request's idempotency key, so a repeat or retransmission
 * of the same request gets the same code without another lookup, and different requests get
 * different codes with overwhelming likelihood (36^6, about 2.2 billion, values).
 */
import { createHash } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function approvalCodeFor(idempotencyKey: string): string {
  const digest = createHash('sha256').update(idempotencyKey).digest();
  let code = '';
  for (let i = 0; i < 6; i++) code += ALPHABET[digest[i]! % 36];
  return code;
}
