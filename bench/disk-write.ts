/**
 * `npm run bench:disk`: the time of one O_DSYNC write on this machine's disk, appending to a file
 * against overwriting blocks zero-filled beforehand, idle and with busy loops on the cores: a write
 * that grows the file also waits for the file system's journal commit, run by a kernel thread that
 * must first get a CPU. The embedded decision log appends; writing it in place over a zero-filled
 * tail was tried and reverted (bench/results/notes.md, sixth session), and this is how the effect
 * on the write itself can be measured again.
 *
 *   npm run bench:disk -- [--dir var] [--writes 2000] [--bytes 2000] [--busy 0,2] [--rounds 2]
 *
 * One JSON line per mode, busy-loop count and round on stdout: {"mode","busyLoops","writes","bytes",
 * "p50Ms","p90Ms","p99Ms","maxMs"}. The two modes alternate, so a slow spell of the host shows in both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, fdatasyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

type WriteMode = 'append' | 'overwrite';

export interface DiskWriteLine {
  mode: WriteMode;
  busyLoops: number;
  writes: number;
  bytes: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

function percentile(sorted: Float64Array, fraction: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]! * 1000) / 1000;
}

/** Times `writes` O_DSYNC writes of `bytes` each to a fresh file in `dir`, in the given mode. */
export function timeWrites(dir: string, mode: WriteMode, writes: number, bytes: number): Float64Array {
  const path = join(dir, `bench-disk-${process.pid}-${mode}.tmp`);
  rmSync(path, { force: true });
  const record = Buffer.alloc(bytes, 0x61);
  if (mode === 'overwrite') {
    // Zeros written and flushed before any record goes there, as a write-ahead log's segment is.
    const fill = openSync(path, 'w', 0o600);
    const zeros = Buffer.alloc(1024 * 1024);
    for (let position = 0; position < writes * bytes; position += zeros.length) writeSync(fill, zeros, 0, zeros.length, position);
    fdatasyncSync(fill);
    closeSync(fill);
  }
  const flags = constants.O_CREAT | constants.O_RDWR | constants.O_DSYNC | (mode === 'append' ? constants.O_APPEND : 0);
  const fd = openSync(path, flags, 0o600);
  const times = new Float64Array(writes);
  try {
    for (let index = 0; index < writes; index++) {
      const started = performance.now();
      writeSync(fd, record, 0, bytes, mode === 'append' ? null : index * bytes);
      times[index] = performance.now() - started;
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return times.sort();
}

export function summarise(mode: WriteMode, busyLoops: number, bytes: number, sorted: Float64Array): DiskWriteLine {
  return {
    mode, busyLoops, writes: sorted.length, bytes,
    p50Ms: percentile(sorted, 0.5), p90Ms: percentile(sorted, 0.9), p99Ms: percentile(sorted, 0.99),
    maxMs: Math.round(sorted[sorted.length - 1]! * 1000) / 1000,
  };
}

/**
 * Processes that only burn CPU. Each also ends by itself once its parent is gone (checked about
 * every few milliseconds), so a bench stopped by a signal or a timeout leaves none behind.
 */
const BUSY_LOOP = 'const parent = process.ppid; for (let i = 0; ; i++) { if ((i & 0xfffff) === 0 && process.ppid !== parent) process.exit(0); }';

function busyLoops(count: number): ChildProcess[] {
  return Array.from({ length: count }, () => spawn(process.execPath, ['-e', BUSY_LOOP], { stdio: 'ignore' }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: 'var' }, writes: { type: 'string', default: '2000' },
      bytes: { type: 'string', default: '2000' }, busy: { type: 'string', default: '0,2' }, rounds: { type: 'string', default: '2' },
    },
  });
  const writes = Number(values.writes);
  const bytes = Number(values.bytes);
  const rounds = Number(values.rounds);
  const busyCounts = String(values.busy).split(',').map(Number);
  for (const value of [writes, bytes, rounds, ...busyCounts]) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`not a count: ${value}`);
  }
  const dir = resolve(String(values.dir));
  mkdirSync(dir, { recursive: true });
  for (const busy of busyCounts) {
    const loops = busyLoops(busy);
    const stopLoops = (): void => { for (const loop of loops) loop.kill('SIGKILL'); };
    const onSignal = (): void => { stopLoops(); process.exit(130); };
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    try {
      // Give the loops a moment to be running before timing anything.
      await new Promise((done) => setTimeout(done, busy > 0 ? 500 : 0));
      for (let round = 0; round < rounds; round++) {
        for (const mode of ['append', 'overwrite'] as const) {
          process.stdout.write(`${JSON.stringify(summarise(mode, busy, bytes, timeWrites(dir, mode, writes, bytes)))}\n`);
        }
      }
    } finally {
      process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal);
      stopLoops();
    }
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench:disk: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
