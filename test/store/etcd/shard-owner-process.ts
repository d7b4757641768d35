// A gateway-like process that owns shards, for the takeover tests (SIGKILL, SIGSTOP). It does
// nothing unless forked by them: the test runner also executes every file under test/.
import type { EtcdShardDirectory } from '../../../src/store/etcd/etcd-shard-directory';
import type { RedisLedger } from '../../../src/store/redis/redis-ledger';
import { openLedger, SHARD_COUNT, startDirectory, type TestNamespace } from './directory-fixture';

export interface ChildReady {
  type: 'ready';
  owned: number[];
  tokens: (number | undefined)[];
}

/** One authorisation the child attempted with the token it captured when armed. */
export interface ChildOutcome {
  type: 'outcome';
  status: string;
  /** What the child's own directory says at that moment. */
  ownsShard: boolean;
  currentToken: number | undefined;
  capturedToken: number;
}

export interface ArmCommand {
  type: 'arm';
  accountId: string;
  shard: number;
  /** Milliseconds between authorisations. */
  intervalMs: number;
}

let sequence = 0;

async function main(send: (message: ChildReady | ChildOutcome) => void): Promise<void> {
  const namespace = JSON.parse(process.env['SHARD_OWNER_NAMESPACE'] ?? '{}') as TestNamespace;
  const ledger: RedisLedger = await openLedger(namespace);
  const directory: EtcdShardDirectory = await startDirectory(namespace, ledger, { instanceId: 'child' });
  await directory.waitUntilReady(5_000);
  const tokens = Array.from({ length: SHARD_COUNT }, (_, shard) => directory.currentToken(shard));
  send({ type: 'ready', owned: directory.ownedShards(), tokens });

  process.on('message', (message: ArmCommand) => {
    if (message.type !== 'arm') return;
    // The token is read once, as a request in flight would have read it before the process paused.
    const capturedToken = directory.currentToken(message.shard) ?? 0;
    setInterval(() => {
      sequence += 1;
      const now = Date.now();
      void ledger.apply({
        kind: 'authorise', idempotencyKey: `child-${sequence}`, accountId: message.accountId, cardId: 'child-card',
        shard: message.shard, fencingToken: capturedToken, nowMs: now, settlement: 'hold', amountMinor: 1,
        allowPartial: false, holdId: `child-hold-${sequence}`, expiresAtMs: now + 86_400_000, references: {},
        limits: { dayKey: '20261126', monthKey: '202611', dailySpendMinor: 1e9, monthlySpendMinor: 1e9 },
      }).then((outcome) => send({
        type: 'outcome', status: outcome.status, ownsShard: directory.ownsShard(message.shard),
        currentToken: directory.currentToken(message.shard), capturedToken,
      }), () => undefined);
    }, message.intervalMs);
  });
}

const send = process.send?.bind(process);
if (process.env['SHARD_OWNER_CHILD'] === '1' && send !== undefined) {
  main((message) => send(message)).catch((error: unknown) => {
    console.error('shard owner child failed:', error);
    process.exit(1);
  });
}
