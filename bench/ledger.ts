/**
 * npm run bench:ledger: the embedded ledger alone, as its tables grow. Drives MemoryLedger.applyNow
 * with authorisations on two accounts (as the load ladder's demo seed does) and, after the first
 * 800 operations, a reversal of an earlier one every eighth operation. It times every operation
 * and prints one JSON line per 250,000 operations:
 * {"operations","opsPerSec","worstOpMs","opsOver1Ms","opsOver10Ms","footprint"}. Run with
 * `node --expose-gc` (as npm run bench:ledger does), the last line also has "heapBytesPerOperation":
 * the heap the ledger kept per operation, after a full collection at the start and at the end.
 *
 * What it is for: a stall of one operation holds every answer behind it in the event loop, and the
 * ladder's p99 cannot tell a slow operation from a busy machine. The worst single operation can.
 * Speed here is for comparison between commits in the same minutes, not an absolute figure.
 */
import { performance } from 'node:perf_hooks';
import { MemoryLedger } from '../src/authorise/memory-ledger';
import type { AuthoriseOperation, ReverseOperation } from '../src/authorise/ledger';

const DAY_MS = 86_400_000;
const NOW_MS = Date.UTC(2026, 10, 26, 12, 0, 0);
const ACCOUNTS = ['bench-acct-1', 'bench-acct-2'];
const CHECKPOINT = 250_000;
/** About a millisecond of operations between event-loop turns. */
const YIELD_EVERY = 100;
/** Reversals start here, reversing the authorisation made 100 before, which is always there. */
const REVERSALS_FROM = 800;

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} takes a positive whole number`);
  return value;
}

function authorisation(n: number): AuthoriseOperation {
  const stan = String(n % 1_000_000).padStart(6, '0');
  return {
    kind: 'authorise', settlement: 'hold', idempotencyKey: `10:12345:${stan}:${1126120000 + Math.floor(n / 1_000_000)}`,
    accountId: ACCOUNTS[n % 2]!, cardId: `bench-card-${n % 7}`, shard: 0, fencingToken: 1, nowMs: NOW_MS,
    amountMinor: 1, allowPartial: false, holdId: `hold-${n}`, expiresAtMs: NOW_MS + 7 * DAY_MS,
    references: { rrn: String(600_000_000_000 + n), approvalCode: n.toString(36).slice(-6).padStart(6, '0') },
    limits: { dayKey: '20261126', monthKey: '202611', dailySpendMinor: 1e15, monthlySpendMinor: 1e15 },
  };
}

function reversalOf(n: number, reversalNumber: number): ReverseOperation {
  return {
    kind: 'reverse', idempotencyKey: `40:12345:r${reversalNumber}:1126120000`, accountId: ACCOUNTS[n % 2]!,
    cardId: `bench-card-${n % 7}`, shard: 0, fencingToken: 1, nowMs: NOW_MS,
    references: { rrn: String(600_000_000_000 + n) }, advice: false,
  };
}

async function main(): Promise<void> {
  const operations = argument('--operations', 1_500_000);
  const ledger = new MemoryLedger({ retentionMs: 8 * DAY_MS });
  await ledger.claimShard(0, 1);
  for (const accountId of ACCOUNTS) {
    await ledger.putAccount({ accountId, currency: '826', balanceMinor: 1e15, overdraftMinor: 0 }, 0, 1);
  }
  let worstMs = 0;
  let over1 = 0;
  let over10 = 0;
  let authorised = 0;
  let reversals = 0;
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  const heapAtStart = process.memoryUsage().heapUsed;
  let checkpointStart = performance.now();
  for (let done = 1; done <= operations; done++) {
    const reverse = done % 8 === 0 && done > REVERSALS_FROM;
    const operation = reverse ? reversalOf(authorised - 100, reversals++) : authorisation(authorised++);
    const started = performance.now();
    const outcome = ledger.applyNow(operation);
    const tookMs = performance.now() - started;
    if (outcome.responseCode !== '00') throw new Error(`operation ${done} answered ${outcome.responseCode}`);
    if (tookMs > worstMs) worstMs = tookMs;
    if (tookMs > 1) over1++;
    if (tookMs > 10) over10++;
    // Give the event loop a turn now and then, as the gateway's ledger always has: V8 marks the old
    // generation in tasks between turns, and a loop that never yields forces full stop-the-world
    // collections (a second long at a million entries) that the gateway does not see.
    if (done % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    if (done % CHECKPOINT === 0 || done === operations) {
      const elapsedMs = performance.now() - checkpointStart;
      const inCheckpoint = done % CHECKPOINT === 0 ? CHECKPOINT : done % CHECKPOINT;
      const line: Record<string, unknown> = {
        operations: done, opsPerSec: Math.round((inCheckpoint * 1000) / elapsedMs),
        worstOpMs: Number(worstMs.toFixed(2)), opsOver1Ms: over1, opsOver10Ms: over10, footprint: ledger.footprint,
      };
      if (done === operations && collect !== undefined) {
        collect();
        line['heapBytesPerOperation'] = Math.round((process.memoryUsage().heapUsed - heapAtStart) / operations);
      }
      console.log(JSON.stringify(line));
      worstMs = 0;
      over1 = 0;
      over10 = 0;
      checkpointStart = performance.now();
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
