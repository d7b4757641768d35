/**
 * Cassandra lost mid-load, through the whole gateway (real Redis, etcd and Cassandra; the gateway
 * reaches Cassandra through a TCP proxy this test cuts, so the shared node keeps serving others):
 * - journal policy: every approval answered is in Cassandra once it comes back;
 * - decline policy: no approval is answered without its row.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'cassandra-driver';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningGateway } from '../../src/gateway';
import { admin, connectPeer, newStackNames, schemeMessage, startTestGateway } from '../support/gateway-harness';
import { cassandraContactPoints, cassandraLocalDataCenter } from '../support/services';
import { CuttableProxy } from '../store/cassandra/support';
import { recordFromRow } from '../../src/store/cassandra/decision-rows';

const PAN = '5454545454545454';

async function keysInCassandra(keyspace: string): Promise<Map<string, string>> {
  const client = new Client({ contactPoints: [...cassandraContactPoints], localDataCenter: cassandraLocalDataCenter,
    protocolOptions: { maxVersion: 4 } });
  try {
    const rows = await client.execute(`SELECT idempotency_key, record FROM ${keyspace}.decisions_by_key`, [],
      { fetchSize: 5000, autoPage: true });
    return new Map(rows.rows.map((row) => [String(row['idempotency_key']), recordFromRow(row).responseCode]));
  } finally {
    await client.shutdown();
  }
}

async function runOutage(policy: 'journal' | 'decline'): Promise<{ approvedKeys: string[]; keyspace: string;
  gateway: RunningGateway; codes: Record<string, number>; logLines: string[] }> {
  const proxy = await CuttableProxy.start(cassandraContactPoints[0]!);
  const names = newStackNames();
  const logLines: string[] = [];
  const gateway = await startTestGateway({ backend: 'stack', stackNames: names, logLines, configure: (config) => {
    config.seedFile = '';
    config.store.cassandra.contactPoints = [proxy.contactPoint];
    config.store.cassandra.writeFailurePolicy = policy;
    config.store.cassandra.writeTimeoutMs = 300;
    config.store.cassandra.appendTimeoutMs = 400;
    return config;
  } });
  const peer = await connectPeer(gateway);
  try {
    await admin(gateway, 'PUT', '/v1/accounts/acct-outage', { currency: '826', balanceMinor: 10_000_000 });
    await admin(gateway, 'PUT', '/v1/cards', { pan: PAN, expiry: '3012', accountId: 'acct-outage',
      limits: { dailySpendMinor: 999_999_999_999, monthlySpendMinor: 999_999_999_999 } });
    const approvedKeys: string[] = [];
    const codes: Record<string, number> = {};
    let stan = 0;
    const send = async (count: number): Promise<void> => {
      for (let batch = 0; batch < count; batch += 20) {
        const responses = await Promise.all(Array.from({ length: 20 }, () => {
          stan++;
          const stanText = String(stan).padStart(6, '0');
          return peer.requestOnce(schemeMessage({ pan: PAN, amountMinor: 100, stan: stanText,
            transmissionDateTime: '1126160000', acquirerId: '777' }), 10_000)
            .then((response) => ({ response, stanText }));
        }));
        for (const { response, stanText } of responses) {
          const code = response?.getString(39) ?? 'timeout';
          codes[code] = (codes[code] ?? 0) + 1;
          if (code === '00') approvedKeys.push(`10:777:${stanText}:1126160000`);
        }
      }
    };
    await send(100);
    proxy.refuse();
    await send(200);
    proxy.restore();
    await send(100);
    return { approvedKeys, keyspace: names.keyspace, gateway, codes, logLines };
  } finally {
    await peer.close();
    // The proxy stays open: the journal replays through it once Cassandra is back.
    openProxies.push(proxy);
  }
}

const openProxies: CuttableProxy[] = [];

after(async () => {
  for (const proxy of openProxies) await proxy.close().catch(() => undefined);
});

test('journal policy: Cassandra lost mid-load, every approval answered is in Cassandra after it comes back', { timeout: 120_000 }, async () => {
  const { approvedKeys, keyspace, gateway, codes, logLines } = await runOutage('journal');
  try {
    assert.ok(approvedKeys.length >= 350, `approvals kept flowing through the outage: ${JSON.stringify(codes)}`);
    let missing: string[] = [];
    for (let attempt = 0; attempt < 60; attempt++) {
      const stored = await keysInCassandra(keyspace);
      missing = approvedKeys.filter((key) => stored.get(key) !== '00');
      if (missing.length === 0) break;
      await sleep(500);
    }
    assert.deepEqual(missing.length, 0, `every answered approval replayed into Cassandra; missing ${missing.length}: ${
      logLines.filter((line) => /journal|replay|cassandra/i.test(line) && !/"level":"(debug|info)"/.test(line)).slice(-8).join('\n')}`);
  } finally {
    await gateway.stop();
  }
});

test('decline policy: Cassandra lost mid-load, no approval is answered without its row', { timeout: 120_000 }, async () => {
  const { approvedKeys, keyspace, gateway, codes } = await runOutage('decline');
  try {
    assert.ok((codes['91'] ?? 0) > 0, `declined 91 while Cassandra was away: ${JSON.stringify(codes)}`);
    assert.ok(approvedKeys.length > 0);
    const stored = await keysInCassandra(keyspace);
    const missing = approvedKeys.filter((key) => stored.get(key) !== '00');
    assert.deepEqual(missing, [], 'every answered approval has its row');
    const account = await admin(gateway, 'GET', '/v1/accounts/acct-outage');
    const held = 10_000_000 - (account.body['availableMinor'] as number);
    assert.equal(held, approvedKeys.length * 100, 'no hold without an answered approval');
  } finally {
    await gateway.stop();
  }
});
