// The services' CPU figures of a stack ladder step: /proc/<pid>/stat read as this process sees
// itself, pids taken from the services script's state folder, and per-request microseconds from
// two snapshots, with services that were not running left out rather than reported as zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { processAgeSeconds, processCpuSeconds, serviceAgeSeconds, serviceCpuMicrosPerRequest, snapshotServiceCpu } from '../../bench/load/service-cpu';

test('reads a process\'s CPU seconds from /proc, growing as it works, and nothing for a pid that does not exist', () => {
  const before = processCpuSeconds(process.pid);
  assert.ok(before !== undefined && before > 0);
  const until = Date.now() + 150;
  let spin = 0;
  while (Date.now() < until) spin += Math.sqrt(spin + 1);
  const after = processCpuSeconds(process.pid);
  assert.ok(after !== undefined && after >= before + 0.05, `${before} -> ${String(after)} (${spin > 0})`);
  assert.equal(processCpuSeconds(2 ** 22 + 12_345), undefined);
});

test('snapshots the services whose pid files name a live process, and reports per-request microseconds for those only', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-services-'));
  writeFileSync(join(stateDir, 'cassandra.pid'), `${process.pid}\n`);
  writeFileSync(join(stateDir, 'redis.pid'), 'not a pid');
  const snapshot = snapshotServiceCpu(stateDir);
  assert.deepEqual(Object.keys(snapshot), ['cassandra']);
  assert.deepEqual(serviceCpuMicrosPerRequest({ cassandra: 10, redis: 1 }, { cassandra: 10.5, etcd1: 3 }, 1000),
    { cassandra: 500 });
  assert.deepEqual(serviceCpuMicrosPerRequest({ cassandra: 10 }, { cassandra: 11 }, 0), {});
});

test('a process\'s age comes from /proc: this one started seconds ago, pid 1 long before it; a service without a pid file has none', async () => {
  const mine = processAgeSeconds(process.pid);
  const ranForSeconds = process.uptime();
  assert.ok(mine !== undefined && Math.abs(mine - ranForSeconds) < 2, `age ${String(mine)} s, process.uptime() ${ranForSeconds} s`);
  const init = processAgeSeconds(1);
  assert.ok(init !== undefined && init >= mine, 'pid 1 is older than this test');
  assert.equal(processAgeSeconds(2 ** 22 + 12_345), undefined);
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-services-'));
  assert.equal(serviceAgeSeconds('cassandra', stateDir), undefined);
  writeFileSync(join(stateDir, 'cassandra.pid'), String(process.pid));
  const age = serviceAgeSeconds('cassandra', stateDir);
  assert.ok(age !== undefined && Math.abs(age - process.uptime()) < 2);
});
