// A Redis that hangs or dies must cost an authorisation no more than the command timeout (it is
// answered by the stand-in policy, not queued past the scheme's timer), and a Redis that comes back
// empty must refuse writes until the shard is claimed again, with the Function library reloaded.
// This file runs a throwaway redis-server of its own: the shared one is never stopped.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../../../bench/load/gateway-process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { RedisLedger } from '../../../src/store/redis/redis-ledger';
import { authoriseOp, SHARD_COUNT, shardOf, TOKEN } from './ledger-fixture';

const directory = mkdtempSync(join(tmpdir(), 'ledger-outage-'));
const servers: ChildProcess[] = [];

after(() => {
  for (const server of servers) {
    if (server.exitCode !== null || server.signalCode !== null) continue;
    server.kill('SIGCONT');
    server.kill('SIGKILL');
  }
  rmSync(directory, { recursive: true, force: true });
});


async function startRedis(port: number): Promise<ChildProcess> {
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', directory], { stdio: 'ignore' });
  servers.push(server);
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return server;
    } catch {
      await sleep(20);
    }
  }
  throw new Error('throwaway redis-server did not start');
}

async function stopped(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    server.once('exit', () => resolve());
    server.kill('SIGKILL');
  });
}

/** Runs the promise and returns how long it took to reject; fails if it resolves. */
async function rejectionTime(operation: Promise<unknown>): Promise<number> {
  const started = performance.now();
  await assert.rejects(operation);
  return performance.now() - started;
}

test('a hung Redis fails an authorisation within the command timeout; a dead one at once; an empty one is fenced until claimed', async (t) => {
  const port = await freePort();
  let server = await startRedis(port);
  const ledger = await RedisLedger.connect({ url: `redis://127.0.0.1:${port}`, shardCount: SHARD_COUNT });
  let replaced = 0;
  ledger.onStoreReplaced(() => {
    replaced += 1;
  });
  try {
    const accountId = 'outage-account';
    const shard = shardOf(accountId);
    await ledger.claimShard(shard, TOKEN);
    await ledger.putAccount({ accountId, currency: '826', balanceMinor: 10_000, overdraftMinor: 0 }, shard, TOKEN);
    assert.equal((await ledger.apply(authoriseOp(accountId, 100))).status, 'approved');

    server.kill('SIGSTOP');
    const hungMs = await rejectionTime(ledger.apply(authoriseOp(accountId, 100)));
    assert.ok(hungMs < 100, `a hung Redis answered after ${hungMs.toFixed(1)} ms (timeout 40 ms)`);

    server.kill('SIGCONT');
    await stopped(server);
    await sleep(50);
    const deadMs = await rejectionTime(ledger.apply(authoriseOp(accountId, 100)));
    assert.ok(deadMs < 20, `a dead Redis answered after ${deadMs.toFixed(1)} ms`);

    server = await startRedis(port);
    // Reconnects within the back-off (at most 500 ms) and reloads the Function library.
    let outcome: string | undefined;
    for (let attempt = 0; attempt < 60 && outcome === undefined; attempt += 1) {
      outcome = await ledger.apply(authoriseOp(accountId, 100)).then((result) => result.status, () => undefined);
      if (outcome === undefined) await sleep(25);
    }
    assert.equal(outcome, 'fenced', 'an empty Redis refuses writes for a shard nobody claimed there');
    await waitForReplaced(() => replaced);
    await ledger.claimShard(shard, TOKEN);
    await ledger.putAccount({ accountId, currency: '826', balanceMinor: 10_000, overdraftMinor: 0 }, shard, TOKEN);
    assert.equal((await ledger.apply(authoriseOp(accountId, 100))).status, 'approved');
    t.diagnostic(`hung Redis: rejected after ${hungMs.toFixed(1)} ms; dead Redis: after ${deadMs.toFixed(2)} ms`);
  } finally {
    await ledger.close();
    await stopped(server);
  }
});

async function waitForReplaced(count: () => number): Promise<void> {
  for (let attempt = 0; attempt < 100 && count() === 0; attempt += 1) await sleep(10);
  assert.equal(count(), 1, 'onStoreReplaced fired once for the new server');
}
