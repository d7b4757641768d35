/**
 * Work that must follow an answer already sent (a stand-in approval's decision, the reconciliation
 * of a late decision with its stand-in answer, the release after a failed ledger step) is tried
 * again when it fails: the scheme acts on what it was told, so giving up at the first store error
 * would leave money held, or not held, against that answer. Each such step is keyed, so a retry
 * replays what went through instead of repeating it.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Waits before each retry: four tries over 2.7 s, long enough for a store's brief failover. */
export const FOLLOW_UP_RETRY_DELAYS_MS: readonly number[] = [200, 500, 2_000];

/**
 * Runs `attempt` until it resolves, waiting FOLLOW_UP_RETRY_DELAYS_MS between tries; rejects with
 * the last error once every try failed. `onRetry` hears each failure that is tried again.
 * `alreadyFailed`: tries the caller made itself before (the first, inline on the hot path), so the
 * first try here waits its turn and the tries in all stay four.
 */
export async function retryFollowUp<T>(attempt: () => Promise<T>,
  onRetry?: (error: unknown, failedTries: number) => void, alreadyFailed = 0): Promise<T> {
  for (let failed = alreadyFailed; ;) {
    if (failed > 0) await sleep(FOLLOW_UP_RETRY_DELAYS_MS[failed - 1]);
    try {
      return await attempt();
    } catch (error: unknown) {
      failed++;
      if (failed > FOLLOW_UP_RETRY_DELAYS_MS.length) throw error;
      onRetry?.(error, failed);
    }
  }
}
