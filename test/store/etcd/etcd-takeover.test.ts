// Shard takeover between processes with real etcd and Redis: a SIGKILLed owner's shards move to the
// other process within the lease TTL while it keeps authorising, and a SIGSTOPped owner resumed after
// its lease expired cannot change a hold (Redis refuses its token).
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import type { LedgerOutcome } from '../../../src/authorise/ledger';
import type { EtcdShardDirectory } from '../../../src/store/etcd/etcd-shard-directory';
import type { RedisLedger } from '../../../src/store/redis/redis-ledger';
import {
  cleanNamespace, openLedger, SHARD_COUNT, startDirectory, testNamespace, TTL_SECONDS, waitFor, type TestNamespace,
} from './directory-fixture';
import type { ArmCommand, ChildOutcome, ChildReady } from './shard-owner-process';
import { shardOfAccount } from '../../../src/authorise/shard-directory';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

interface Child {
  process: ChildProcess;
  ready: ChildReady;
  outcomes: ChildOutcome[];
}

async function forkOwner(namespace: TestNamespace): Promise<Child> {
  const child = fork(join(__dirname, 'shard-owner-process.js'), [], {
    env: { ...process.env, SHARD_OWNER_CHILD: '1', SHARD_OWNER_NAMESPACE: JSON.stringify(namespace) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });
  const outcomes: ChildOutcome[] = [];
  const ready = await new Promise<ChildReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child not ready within 10 s')), 10_000);
    child.on('message', (message: ChildReady | ChildOutcome) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message);
      } else {
        outcomes.push(message);
      }
    });
    child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  return { process: child, ready, outcomes };
}

async function setUp(): Promise<{ namespace: TestNamespace; ledger: RedisLedger; child: Child; survivor: EtcdShardDirectory }> {
  const namespace = testNamespace();
  const ledger = await openLedger(namespace);
  cleanups.push(() => cleanNamespace(namespace), () => ledger.close());
  const child = await forkOwner(namespace);
  assert.equal(child.ready.owned.length, SHARD_COUNT, 'the child started first and owns every shard');
  const survivor = await startDirectory(namespace, ledger, { instanceId: 'survivor' });
  cleanups.push(() => survivor.close());
  assert.ok(await survivor.waitUntilReady(3_000));
  assert.deepEqual(survivor.ownedShards(), []);
  return { namespace, ledger, child, survivor };
}

function heldTotal(view: { holds: { status: string; amountMinor: number }[] } | undefined): number {
  return (view?.holds ?? []).filter((hold) => hold.status === 'pending').reduce((total, hold) => total + hold.amountMinor, 0);
}

test('a SIGKILLed owner\'s shards move to the other process within the lease TTL, mid-load', async (t) => {
  const { ledger, child, survivor } = await setUp();
  const accountId = 'load-account';
  const shard = shardOfAccount(accountId, SHARD_COUNT);
  await ledger.putAccount({ accountId, currency: '826', balanceMinor: 1_000_000, overdraftMinor: 0 }, shard,
    child.ready.tokens[shard]!);

  // Load through the survivor: each authorisation carries whatever token its directory says is current.
  const outcomes: LedgerOutcome[] = [];
  let unowned = 0;
  let running = true;
  let sequence = 0;
  const load = (async () => {
    while (running) {
      const token = survivor.currentToken(shard);
      if (token === undefined) {
        unowned += 1; // the acceptor answers 91 here
      } else {
        sequence += 1;
        const now = Date.now();
        outcomes.push(await ledger.apply({
          kind: 'authorise', idempotencyKey: `load-${sequence}`, accountId, cardId: 'load-card', shard,
          fencingToken: token, nowMs: now, settlement: 'hold', amountMinor: 3, allowPartial: false,
          holdId: `load-hold-${sequence}`, expiresAtMs: now + 86_400_000, references: {},
          limits: { dayKey: '20261126', monthKey: '202611', dailySpendMinor: 1e9, monthlySpendMinor: 1e9 },
        }));
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();

  await waitFor(2_000, () => outcomes.some((outcome) => outcome.status === 'approved'), 'approvals before the kill');
  const approvedBeforeKill = outcomes.length;
  const killedAt = performance.now();
  child.process.kill('SIGKILL');
  const takeoverMs = await waitFor(TTL_SECONDS * 1000 + 2_000, () => survivor.ownedShards().length === SHARD_COUNT,
    'the survivor owns every shard');
  await waitFor(2_000, () => outcomes.length > approvedBeforeKill + 20 && outcomes.at(-1)?.status === 'approved',
    'approvals after the takeover');
  running = false;
  await load;

  // The lease must run out before etcd frees the shards: takeover takes most of a TTL, never much more.
  assert.ok(takeoverMs <= TTL_SECONDS * 1000 + 1_000, `takeover took ${takeoverMs.toFixed(0)} ms`);
  assert.ok(performance.now() - killedAt >= (TTL_SECONDS - 1) * 1000, 'the dead owner\'s lease had to expire first');
  assert.ok(survivor.currentToken(shard)! > child.ready.tokens[shard]!, 'a newer token');
  assert.equal(await ledger.fenceTokenOf(shard), survivor.currentToken(shard));
  const approved = outcomes.filter((outcome) => outcome.status === 'approved');
  const view = await ledger.getAccount(accountId);
  assert.equal(heldTotal(view), approved.length * 3, 'held total equals the sum of approved amounts');
  assert.ok(outcomes.every((outcome) => outcome.status === 'approved' || outcome.status === 'fenced'));
  t.diagnostic(`takeover after SIGKILL: ${takeoverMs.toFixed(0)} ms (TTL ${TTL_SECONDS} s); `
    + `${approved.length} approved, ${outcomes.length - approved.length} fenced, ${unowned} without owner (91)`);
});

test('a SIGSTOPped owner resumed after its lease expired cannot change a hold: its writes are fenced', async () => {
  const { ledger, child, survivor } = await setUp();
  const accountId = 'paused-owner-account';
  const shard = shardOfAccount(accountId, SHARD_COUNT);
  const oldToken = child.ready.tokens[shard]!;
  await ledger.putAccount({ accountId, currency: '826', balanceMinor: 1_000_000, overdraftMinor: 0 }, shard, oldToken);

  const arm: ArmCommand = { type: 'arm', accountId, shard, intervalMs: 25 };
  child.process.send(arm);
  await waitFor(2_000, () => child.outcomes.some((outcome) => outcome.status === 'approved'), 'the owner places holds');

  child.process.kill('SIGSTOP');
  await waitFor(TTL_SECONDS * 1000 + 2_000, () => survivor.ownedShards().length === SHARD_COUNT,
    'the survivor took the shards of the paused owner');
  assert.ok(survivor.currentToken(shard)! > oldToken);
  const before = await ledger.getAccount(accountId);
  const seenBeforeResume = child.outcomes.length;

  child.process.kill('SIGCONT');
  await waitFor(3_000, () => child.outcomes.length >= seenBeforeResume + 5, 'the resumed owner tried to write');
  const afterResume = child.outcomes.slice(seenBeforeResume);
  assert.ok(afterResume.every((outcome) => outcome.status === 'fenced'),
    `every write after resuming is fenced: ${afterResume.map((outcome) => outcome.status).join(',')}`);
  assert.ok(afterResume.every((outcome) => outcome.capturedToken === oldToken));
  assert.ok(afterResume.every((outcome) => !outcome.ownsShard && outcome.currentToken !== oldToken),
    'and its own directory no longer hands out the old token');
  const after = await ledger.getAccount(accountId);
  assert.deepEqual(after?.holds, before?.holds, 'no hold changed');
  assert.equal(after?.availableMinor, before?.availableMinor);
});
