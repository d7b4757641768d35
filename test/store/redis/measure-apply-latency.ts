// Measures one Redis ledger `apply` (an authorisation placing a hold) on this machine: sequential,
// then 64 in flight at once (auto-pipelined). Not a test: it runs only when asked,
//   node dist/test/store/redis/measure-apply-latency.js --measure [count]
// (the test runner also executes files under test/, without that flag, and then it does nothing).
import { performance } from 'node:perf_hooks';
import type { RedisLedger } from '../../../src/store/redis/redis-ledger';
import { authoriseOp, claimAll, dropPrefix, openLedger, putAccount, uniquePrefix } from './ledger-fixture';

const ACCOUNTS = 1_000;
const CONCURRENCY = 64;

function percentile(sorted: Float64Array, fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

function report(label: string, samples: Float64Array, elapsedMs: number): void {
  const sorted = samples.slice().sort();
  const format = (ms: number): string => `${(ms * 1000).toFixed(0)} µs`;
  console.log(`${label}: n=${samples.length} p50=${format(percentile(sorted, 0.5))} `
    + `p99=${format(percentile(sorted, 0.99))} p99.9=${format(percentile(sorted, 0.999))} `
    + `max=${format(sorted[sorted.length - 1]!)} throughput=${(samples.length / (elapsedMs / 1000)).toFixed(0)}/s`);
}

async function timedApply(ledger: RedisLedger, accountIndex: number): Promise<number> {
  const operation = authoriseOp(`bench-${accountIndex}`, 1);
  const started = performance.now();
  await ledger.apply(operation);
  return performance.now() - started;
}

async function measure(count: number): Promise<void> {
  const prefix = uniquePrefix();
  const ledger = await openLedger(prefix);
  try {
    await claimAll(ledger);
    for (let index = 0; index < ACCOUNTS; index += 1) await putAccount(ledger, `bench-${index}`, 1e12);
    // Warm-up: JIT, connection buffers, Redis' Lua state.
    for (let index = 0; index < 500; index += 1) await timedApply(ledger, index % ACCOUNTS);

    const sequential = new Float64Array(count);
    let started = performance.now();
    for (let index = 0; index < count; index += 1) sequential[index] = await timedApply(ledger, index % ACCOUNTS);
    report('sequential', sequential, performance.now() - started);

    const concurrent = new Float64Array(count);
    let next = 0;
    started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        concurrent[index] = await timedApply(ledger, index % ACCOUNTS);
      }
    }));
    report(`${CONCURRENCY} in flight`, concurrent, performance.now() - started);
  } finally {
    await ledger.close();
    await dropPrefix(prefix);
  }
}

if (process.argv.includes('--measure')) {
  const countArgument = Number(process.argv[process.argv.indexOf('--measure') + 1]);
  measure(Number.isInteger(countArgument) && countArgument > 0 ? countArgument : 5_000).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
