/**
 * Reconciliation: the holds and balances the ledger (Redis) reports against what the decision record
 * in Cassandra says they must be. Monzo-style "coherence checking" (reliability-notes section 7): the
 * last control behind the others, run as a command and as a periodic job on the elected instance; each
 * difference becomes a metric and a log line (the lead wires both).
 *
 * Two kinds of noise are kept out. Holds due to expire within `expiryGraceMs` are skipped on both
 * sides (the sweep releases them on its own schedule). Decisions in flight (ledger step done, record
 * not yet written) look like differences for a few milliseconds, so with `confirmAfterMs` the accounts
 * that differ are checked again after that delay and only differences seen both times are reported.
 */
import type { Ledger } from '../../authorise/ledger';
import type { AccountView } from '../../authorise/types';
import type { AccountState, CassandraAccountStore } from './account-store';
import { forEachBounded } from './shard-rebuild';

export type HoldDifference =
  | { kind: 'account-missing-in-ledger'; accountId: string }
  | { kind: 'account-missing-in-store'; accountId: string }
  | { kind: 'balance-mismatch'; accountId: string; ledgerMinor: number; storeMinor: number }
  | { kind: 'hold-missing-in-ledger'; accountId: string; holdId: string; storeAmountMinor: number }
  | { kind: 'hold-missing-in-store'; accountId: string; holdId: string; ledgerAmountMinor: number }
  | { kind: 'hold-amount-mismatch'; accountId: string; holdId: string; ledgerAmountMinor: number; storeAmountMinor: number };

export type HoldDifferenceKind = HoldDifference['kind'];

export interface ReconciliationReport {
  checkedAccounts: number;
  differences: HoldDifference[];
  startedAtMs: number;
  finishedAtMs: number;
}

export interface ReconciliationOptions {
  /** Holds expiring within this of now are not compared (sweep lag). Default: 2 minutes. */
  expiryGraceMs?: number;
  /** When set, accounts that differ are re-checked after this delay; only repeated differences count. */
  confirmAfterMs?: number;
  concurrency?: number;
  nowMs?: () => number;
}

const DEFAULT_EXPIRY_GRACE_MS = 120_000;

export type LedgerAccountReader = Pick<Ledger, 'getAccount'>;

function differenceKey(difference: HoldDifference): string {
  return 'holdId' in difference ? `${difference.kind}|${difference.holdId}` : difference.kind;
}

/** Differences for one account, from its ledger view and its Cassandra state. */
export function compareAccount(accountId: string, ledger: AccountView | undefined, store: AccountState | undefined,
  nowMs: number, expiryGraceMs: number): HoldDifference[] {
  if (ledger === undefined && store === undefined) return [];
  if (ledger === undefined) return [{ kind: 'account-missing-in-ledger', accountId }];
  if (store === undefined) return [{ kind: 'account-missing-in-store', accountId }];
  const differences: HoldDifference[] = [];
  if (ledger.balanceMinor !== store.account.balanceMinor) {
    differences.push({ kind: 'balance-mismatch', accountId, ledgerMinor: ledger.balanceMinor, storeMinor: store.account.balanceMinor });
  }
  const settledBy = nowMs + expiryGraceMs;
  const ledgerHolds = new Map<string, number>();
  for (const hold of ledger.holds) {
    if (hold.status === 'pending' && hold.expiresAtMs > settledBy) ledgerHolds.set(hold.holdId, hold.amountMinor);
  }
  const storeHolds = new Map<string, number>();
  for (const hold of store.holds) if (hold.expiresAtMs > settledBy) storeHolds.set(hold.holdId, hold.amountMinor);
  for (const [holdId, storeAmountMinor] of storeHolds) {
    const ledgerAmountMinor = ledgerHolds.get(holdId);
    if (ledgerAmountMinor === undefined) {
      differences.push({ kind: 'hold-missing-in-ledger', accountId, holdId, storeAmountMinor });
    } else if (ledgerAmountMinor !== storeAmountMinor) {
      differences.push({ kind: 'hold-amount-mismatch', accountId, holdId, ledgerAmountMinor, storeAmountMinor });
    }
  }
  for (const [holdId, ledgerAmountMinor] of ledgerHolds) {
    if (!storeHolds.has(holdId)) differences.push({ kind: 'hold-missing-in-store', accountId, holdId, ledgerAmountMinor });
  }
  return differences;
}

async function checkAccounts(ledger: LedgerAccountReader, store: CassandraAccountStore, accountIds: readonly string[],
  nowMs: number, expiryGraceMs: number, concurrency: number): Promise<Map<string, HoldDifference[]>> {
  const found = new Map<string, HoldDifference[]>();
  await forEachBounded(accountIds, concurrency, async (accountId: string) => {
    const [view, stored] = await Promise.all([ledger.getAccount(accountId), store.getAccount(accountId)]);
    const state = stored === undefined ? undefined : await store.accountState(stored, nowMs);
    const differences = compareAccount(accountId, view, state, nowMs, expiryGraceMs);
    if (differences.length > 0) found.set(accountId, differences);
  });
  return found;
}

export async function reconcileHolds(ledger: LedgerAccountReader, store: CassandraAccountStore,
  accountIds: readonly string[], options: ReconciliationOptions = {}): Promise<ReconciliationReport> {
  const now = options.nowMs ?? Date.now;
  const expiryGraceMs = options.expiryGraceMs ?? DEFAULT_EXPIRY_GRACE_MS;
  const concurrency = options.concurrency ?? 16;
  const startedAtMs = now();
  let found = await checkAccounts(ledger, store, accountIds, startedAtMs, expiryGraceMs, concurrency);
  if (options.confirmAfterMs !== undefined && found.size > 0) {
    await new Promise<void>((resolve) => setTimeout(resolve, options.confirmAfterMs));
    const again = await checkAccounts(ledger, store, [...found.keys()], now(), expiryGraceMs, concurrency);
    const confirmed = new Map<string, HoldDifference[]>();
    for (const [accountId, first] of found) {
      const second = again.get(accountId);
      if (second === undefined) continue;
      const firstKeys = new Set(first.map(differenceKey));
      const persistent = second.filter((difference) => firstKeys.has(differenceKey(difference)));
      if (persistent.length > 0) confirmed.set(accountId, persistent);
    }
    found = confirmed;
  }
  const differences: HoldDifference[] = [];
  for (const accountId of accountIds) differences.push(...(found.get(accountId) ?? []));
  return { checkedAccounts: accountIds.length, differences, startedAtMs, finishedAtMs: now() };
}
