import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { summarise, timeWrites } from '../../bench/disk-write';

test('bench:disk times every O_DSYNC write in both modes and leaves no file behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-disk-'));
  for (const mode of ['append', 'overwrite'] as const) {
    const sorted = timeWrites(dir, mode, 20, 100);
    assert.equal(sorted.length, 20);
    for (let index = 1; index < sorted.length; index++) assert.ok(sorted[index - 1]! <= sorted[index]!, 'sorted');
    assert.ok(sorted[0]! > 0, 'a write takes time');
    const line = summarise(mode, 0, 100, sorted);
    assert.ok(line.p50Ms <= line.p90Ms && line.p90Ms <= line.p99Ms && line.p99Ms <= line.maxMs);
  }
  assert.deepEqual(readdirSync(dir), []);
});

test('npm run bench:disk prints one JSON line per mode, busy-loop count and round', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-disk-'));
  // No busy loops here: the test machine's cores are shared with the rest of the suite.
  const run = spawnSync(process.execPath, [join(__dirname, '..', '..', 'bench', 'disk-write.js'),
    '--dir', dir, '--writes', '10', '--bytes', '64', '--busy', '0', '--rounds', '2'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split('\n').map((text) => JSON.parse(text) as Record<string, unknown>);
  assert.deepEqual(lines.map((line) => `${String(line['mode'])}/${String(line['busyLoops'])}`),
    ['append/0', 'overwrite/0', 'append/0', 'overwrite/0']);
  for (const line of lines) {
    assert.deepEqual(Object.keys(line), ['mode', 'busyLoops', 'writes', 'bytes', 'p50Ms', 'p90Ms', 'p99Ms', 'maxMs']);
    assert.equal(line['writes'], 10);
  }
});
