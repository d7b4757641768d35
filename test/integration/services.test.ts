// Proves the services scripts/services.sh starts are the real thing: each test talks to the actual
// server through the same client library the gateway uses, writes something and reads it back.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Etcd3, EtcdLockFailedError } from 'etcd3';
import { Client as CassandraClient } from 'cassandra-driver';
import {
  cassandraContactPoints,
  cassandraLocalDataCenter,
  etcdEndpoints,
  redisUrl,
} from '../support/services';

// Every key, lock and row carries this run's id, so concurrent test runs on one machine never collide.
const runId = randomUUID();

describe('Redis started by scripts/services.sh', () => {
  // One retry instead of the client's default 20: a dead server fails the test within seconds instead
  // of keeping its commands queued through every reconnect attempt.
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  after(() => redis.quit());

  it('reads back a hold amount written with an expiry', async () => {
    const key = `services-check:hold:${runId}`;
    // A short expiry keeps the throwaway server clean even if the test stops half-way.
    await redis.set(key, '12500', 'PX', 30_000);
    assert.equal(await redis.get(key), '12500');
    const ttlMs = await redis.pttl(key);
    assert.ok(ttlMs > 0 && ttlMs <= 30_000, `expected a live expiry, got ${ttlMs} ms`);
  });

  it('runs without persistence, as the script configures it', async () => {
    const reply: unknown = await redis.config('GET', 'save');
    assert.deepEqual(reply, ['save', '']);
    const appendOnly: unknown = await redis.config('GET', 'appendonly');
    assert.deepEqual(appendOnly, ['appendonly', 'no']);
  });
});

describe('etcd started by scripts/services.sh', () => {
  // etcd3 sets no deadline by default: a call to a stopped member would hang the test run. Streams
  // (watches, keep-alives) are long-lived by design and get none.
  const callDeadlineMs = 3000;
  const clientOptions = {
    hosts: [...etcdEndpoints],
    dialTimeout: 2000,
    defaultCallOptions: (context: { isStream: boolean }) =>
      context.isStream ? {} : { deadline: Date.now() + callDeadlineMs },
  };
  const etcd = new Etcd3(clientOptions);
  const rivalEtcd = new Etcd3(clientOptions);
  after(() => {
    etcd.close();
    rivalEtcd.close();
  });

  it('is an etcd 3.4 server', async () => {
    const status = await etcd.maintenance.status();
    assert.match(status.version, /^3\.4\./);
  });

  it('reads back a value put under a key', async () => {
    const key = `services-check/account/${runId}`;
    await etcd.put(key).value('open');
    assert.equal(await etcd.get(key).string(), 'open');
    await etcd.delete().key(key);
    assert.equal(await etcd.get(key).string(), null);
  });

  it('refuses a second holder of a held lock at once (try-once lock)', async () => {
    const lockKey = `services-check/lock/${runId}`;
    const held = await etcd.lock(lockKey).acquire();
    try {
      await assert.rejects(rivalEtcd.lock(lockKey).acquire(), EtcdLockFailedError);
    } finally {
      await held.release();
    }
    // Released: the rival gets it now, so the rejection above was the lock, not a broken client.
    const rivalHold = await rivalEtcd.lock(lockKey).acquire();
    await rivalHold.release();
  });

  it('grants a lease whose keys disappear when it is revoked', async () => {
    const key = `services-check/leased/${runId}`;
    const lease = etcd.lease(10);
    const leaseId = await lease.grant();
    assert.match(leaseId, /^[0-9]+$/);
    await lease.put(key).value('owned');
    assert.equal(await etcd.get(key).string(), 'owned');
    await lease.revoke();
    assert.equal(await etcd.get(key).string(), null);
  });
});

describe('Cassandra started by scripts/services.sh', () => {
  const keyspace = 'services_check';
  const cassandra = new CassandraClient({
    contactPoints: [...cassandraContactPoints],
    localDataCenter: cassandraLocalDataCenter,
    // The Node.js driver speaks protocol v4 at most; asking for it directly skips a failed v5 probe.
    protocolOptions: { maxVersion: 4 },
    socketOptions: { connectTimeout: 5000, readTimeout: 20_000 },
  });
  after(() => cassandra.shutdown());

  it('is a Cassandra 5.0 node', async () => {
    const result = await cassandra.execute('SELECT release_version FROM system.local');
    const releaseVersion: unknown = result.first()?.get('release_version');
    assert.equal(typeof releaseVersion, 'string');
    assert.match(String(releaseVersion), /^5\.0/);
  });

  it('reads back a decision written with a prepared statement into a new keyspace and table', async () => {
    // IF NOT EXISTS: a concurrent test run may have created them a moment ago.
    await cassandra.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
    );
    await cassandra.execute(
      `CREATE TABLE IF NOT EXISTS ${keyspace}.decisions (rrn text PRIMARY KEY, response_code text, amount_minor bigint)`,
    );
    const rrn = runId.replace(/-/g, '').slice(0, 12);
    await cassandra.execute(
      `INSERT INTO ${keyspace}.decisions (rrn, response_code, amount_minor) VALUES (?, ?, ?)`,
      [rrn, '00', 12_500],
      { prepare: true },
    );
    const result = await cassandra.execute(
      `SELECT response_code, amount_minor FROM ${keyspace}.decisions WHERE rrn = ?`,
      [rrn],
      { prepare: true },
    );
    assert.equal(result.rowLength, 1);
    const row = result.first();
    assert.equal(row.get('response_code'), '00');
    const amountMinor: unknown = row.get('amount_minor');
    assert.equal(String(amountMinor), '12500');
  });
});
