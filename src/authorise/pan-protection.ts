/**
 * The PAN at rest: a keyed hash (HMAC-SHA-256) for lookups and a masked form (first 6, last 4)
 * for display. PCI DSS 3.5.1 asks for PAN unreadable wherever stored; a keyed hash, unlike a
 * plain SHA-256, cannot be reversed by hashing every PAN in a BIN range without the key.
 * The key comes from the environment (GATEWAY_PAN_HASH_KEY), never from a config file.
 */
import { createHmac } from 'node:crypto';
import { maskPan } from '../iso8583';

export { maskPan };

/** Used only when no key is configured, so `npm start` runs on a fresh clone; logged as a warning. */
export const DEVELOPMENT_PAN_HASH_KEY = 'development-only-pan-hash-key-do-not-use-in-production';

export class PanHasher {
  private readonly key: Buffer;

  constructor(key: string) {
    if (key.length < 16) throw new Error('PAN hash key must be at least 16 characters');
    this.key = Buffer.from(key, 'utf8');
  }

  hash(pan: string): string {
    return createHmac('sha256', this.key).update(pan).digest('hex');
  }
}

export function panHashKeyFromEnvironment(env: NodeJS.ProcessEnv): { key: string; isDevelopmentKey: boolean } {
  const key = env['GATEWAY_PAN_HASH_KEY'];
  if (key === undefined || key === '') return { key: DEVELOPMENT_PAN_HASH_KEY, isDevelopmentKey: true };
  return { key, isDevelopmentKey: false };
}
