/**
 * DE 38 approval codes. Derived from the request's idempotency key, so a repeat or retransmission
 * of the same request gets the same code without another lookup, and different requests get
 * different codes with high likelihood (36^6, about 2.2 billion, values; a collision only makes a
 * DE 38 fallback match ambiguous, and DE 90 and DE 37 are tried first).
 *
 * Two 32-bit FNV-1a hashes (finalised) with different offsets give 64 bits to draw six characters from; a
 * cryptographic hash would cost a microsecond per approval for no property the code needs.
 */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function fnv1a(text: string, offset: number): number {
  let hash = offset;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // MurmurHash3's finaliser: FNV alone mixes poorly when keys differ in a few trailing digits.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

export function approvalCodeFor(idempotencyKey: string): string {
  let high = fnv1a(idempotencyKey, 0x811c9dc5);
  let low = fnv1a(idempotencyKey, 0x050c5d1f);
  let code = '';
  for (let i = 0; i < 6; i++) {
    const source = i < 3 ? high : low;
    code += ALPHABET[source % 36];
    if (i < 3) high = Math.floor(high / 36); else low = Math.floor(low / 36);
  }
  return code;
}
