// Shared set-up for the Cassandra store tests: a keyspace of their own on the test node (dropped at
// the end), settings for the single node (consistency ONE, timeouts that tolerate 2 shared cores),
// decision records built from test PANs, and a TCP proxy that can cut one client off Cassandra
// without stopping the node other suites share.
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import Redis from 'ioredis';
import type { Client } from 'cassandra-driver';
import type { SchemeRequest } from '../../../src/acceptor/scheme-request';
import { Authoriser } from '../../../src/authorise/authoriser';
import type { InMemoryCardDirectory } from '../../../src/authorise/card-directory';
import type { DecisionLog, DecisionRecord } from '../../../src/authorise/decision-log';
import type { Ledger } from '../../../src/authorise/ledger';
import { shardOfAccount, type ShardDirectory } from '../../../src/authorise/shard-directory';
import type { Card } from '../../../src/authorise/types';
import { PanHasher, maskPan } from '../../../src/authorise/pan-protection';
import { clientSettingsOf, connectCassandra } from '../../../src/store/cassandra/client';
import { dropKeyspace, migrate } from '../../../src/store/cassandra/migrations';
import { cassandraSettings, type CassandraStoreSettings, type JournalSettings } from '../../../src/store/cassandra/options';
import { cassandraContactPoints, cassandraLocalDataCenter } from '../../support/services';

export const panHasher = new PanHasher('test-pan-hash-key-for-cassandra-store-tests');

/** Test PANs (Luhn-valid test ranges); none may ever be found in clear in a table. */
export const testPans: readonly string[] = [
  '4000056655665556', '5555555555554444', '4111111111111111', '2223003122003222', '5200828282828210',
];

export function uniqueKeyspace(label: string): string {
  return `t_${label}_${randomBytes(4).toString('hex')}`;
}

/** Settings for the single test node; `contactPoints` may point at a CuttableProxy instead. */
export function testSettings(keyspace: string, overrides: Partial<Omit<CassandraStoreSettings, 'journal'>> & {
  journal?: Partial<JournalSettings>;
} = {}): CassandraStoreSettings {
  return cassandraSettings({
    contactPoints: [...cassandraContactPoints],
    localDataCenter: cassandraLocalDataCenter,
    keyspace,
    replication: { class: 'SimpleStrategy', replicationFactor: 1 },
    writeConsistency: 'ONE',
    readConsistency: 'ONE',
    // Functional tests share 2 cores with a JVM and other suites: generous bounds keep them from
    // flaking; the policy tests set tight ones where the bound itself is what they check.
    writeTimeoutMs: 2000,
    appendTimeoutMs: 3000,
    readTimeoutMs: 2000,
    connectTimeoutMs: 2000,
    reconnectBaseDelayMs: 100,
    reconnectMaxDelayMs: 500,
    ...overrides,
  });
}

export async function openClient(settings: CassandraStoreSettings): Promise<Client> {
  return connectCassandra(clientSettingsOf(settings));
}

/** A client on the real node with the keyspace migrated; drop it with dropTestKeyspace. */
export async function openMigrated(keyspace: string): Promise<{ client: Client; settings: CassandraStoreSettings }> {
  const settings = testSettings(keyspace);
  const client = await openClient(settings);
  await migrate(client, keyspace, settings.replication);
  return { client, settings };
}

export async function dropTestKeyspace(client: Client, keyspace: string): Promise<void> {
  try {
    await dropKeyspace(client, keyspace);
  } finally {
    await client.shutdown();
  }
}

let stanCounter = 0;

/** A decision record as the authoriser writes it, for the PAN given (only its hash and mask are kept). */
export function decisionRecord(pan: string, overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  stanCounter = (stanCounter + 1) % 1_000_000;
  const stan = String(stanCounter).padStart(6, '0');
  const nowMs = overrides.decidedAtMs ?? Date.now();
  const holdId = overrides.holdId ?? randomUUID();
  return {
    decisionId: holdId !== '' ? holdId : randomUUID(),
    idempotencyKey: `10:12345678901:${stan}:${randomUUID().slice(0, 10)}`,
    kind: 'authorisation',
    mti: '0100',
    accountId: 'acct-1',
    cardId: 'card-1',
    panHash: panHasher.hash(pan),
    panMasked: maskPan(pan),
    responseCode: '00',
    approvalCode: 'A1B2C3',
    requestedMinor: 1234,
    approvedMinor: 1234,
    currency: '826',
    holdId,
    originalKey: '',
    stan,
    rrn: `RRN${stan}${randomBytes(2).toString('hex')}`,
    transmissionDateTime: '1126120000',
    acquirerId: '12345678901',
    standIn: false,
    overdrawn: false,
    receivedAtMs: nowMs - 3,
    decidedAtMs: nowMs,
    shard: 3,
    fencingToken: 7,
    ...overrides,
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until the condition holds or the bound passes; returns whether it held. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await delay(stepMs);
  }
  return condition();
}

export function percentile(sortedMs: readonly number[], fraction: number): number {
  if (sortedMs.length === 0) return Number.NaN;
  const index = Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1);
  return sortedMs[Math.max(0, index)] as number;
}

type ProxyMode = 'open' | 'blackhole' | 'refuse';

/**
 * A TCP proxy in this process between one client and the Cassandra node. 'blackhole' keeps every
 * connection open but forwards nothing (a hung node: the client's requests time out); 'refuse'
 * resets every connection and new ones (a dead node); 'open' forwards again, after dropping the
 * connections that lost bytes while cut, so the driver reconnects on clean streams.
 */
export class CuttableProxy {
  private modeValue: ProxyMode = 'open';
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, private readonly targetHost: string,
    private readonly targetPort: number) {
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(target: string): Promise<CuttableProxy> {
    const separator = target.lastIndexOf(':');
    const server = net.createServer();
    const proxy = new CuttableProxy(server, target.slice(0, separator), Number(target.slice(separator + 1)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get contactPoint(): string {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy is not listening');
    return `127.0.0.1:${address.port}`;
  }

  get mode(): ProxyMode {
    return this.modeValue;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.modeValue === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (this.modeValue === 'blackhole') {
      client.on('data', () => undefined);
      return;
    }
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
    this.track(upstream);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    client.on('data', (bytes) => { if (this.modeValue === 'open') upstream.write(bytes); });
    upstream.on('data', (bytes) => { if (this.modeValue === 'open') client.write(bytes); });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  blackhole(): void {
    this.modeValue = 'blackhole';
  }

  refuse(): void {
    this.modeValue = 'refuse';
    for (const socket of this.sockets) socket.resetAndDestroy();
  }

  restore(): void {
    const wasCut = this.modeValue !== 'open';
    this.modeValue = 'open';
    if (wasCut) for (const socket of this.sockets) socket.destroy();
  }

  /** Stops listening and cuts every connection; one arriving meanwhile is cut too. */
  async close(): Promise<void> {
    this.modeValue = 'refuse';
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

/** A typed scheme request as the acceptor hands it to the authoriser (chip purchase in the UK). */
export function schemeRequest(pan: string, overrides: Partial<SchemeRequest> = {}): SchemeRequest {
  stanCounter = (stanCounter + 1) % 1_000_000;
  const stan = String(stanCounter).padStart(6, '0');
  return {
    kind: 'authorisation', mti: '0100', repeat: false, pan, transactionType: '00', amountMinor: 1000,
    billingAmountMinor: 1000, billingCurrency: '826',
    // DE 7 from a per-process random prefix so keys from reruns on one node never meet.
    transmissionDateTime: `${runPrefix}${stan.slice(2)}`, stan, expiry: '', mcc: '5411', panEntryMode: '05',
    merchantCountry: '826', acquirerId: '12345678901', rrn: `R${runPrefix}${stan}`, approvalCode: '',
    terminalId: 'TERM0001', partialApprovalSupported: false, original: undefined, replacementAmountMinor: undefined,
    ...overrides,
  };
}

const runPrefix = String(100000 + (randomBytes(3).readUIntBE(0, 3) % 900000));

/** A reversal (0400) naming the original in DE 90, as the acquirer sends it. */
export function reversalOf(original: SchemeRequest, overrides: Partial<SchemeRequest> = {}): SchemeRequest {
  return schemeRequest(original.pan, {
    kind: 'reversal', mti: '0400', billingAmountMinor: original.billingAmountMinor, amountMinor: original.amountMinor,
    rrn: original.rrn,
    original: { mti: original.mti, stan: original.stan, transmissionDateTime: original.transmissionDateTime,
      acquirerId: original.acquirerId },
    ...overrides,
  });
}

export function testCard(pan: string, accountId: string, cardId: string): Card {
  return {
    cardId, panHash: panHasher.hash(pan), panMasked: maskPan(pan), expiry: '3012', accountId, status: 'active',
    controls: {
      frozen: false, gamblingBlock: false, atmBlock: false, contactlessBlock: false, magstripeBlock: false,
      onlineBlock: false, blockedCountries: [],
    },
    limits: {
      dailySpendMinor: 100_000_000, monthlySpendMinor: 1_000_000_000, atmDailyAmountMinor: 1_000_000,
      atmDailyCount: 100, contactlessSingleMinor: 10_000,
    },
  };
}

/** The real authoriser over the given ledger and decision log, one process owning every shard. */
export function authoriserOver(ledger: Ledger, decisions: DecisionLog, cards: InMemoryCardDirectory,
  shardCount: number, fencingToken = 1): Authoriser {
  const shards: ShardDirectory = {
    shardCount,
    shardOf: (accountId) => shardOfAccount(accountId, shardCount),
    currentToken: () => fencingToken,
    ownsShard: () => true,
    isReady: () => true,
    close: async () => undefined,
  };
  return new Authoriser({
    cards, ledger, shards, decisions, panHasher, settings: { holdExpiryDays: 7, recentDecisions: 10_000 },
  });
}

/** Deletes every Redis key under a test prefix (tests never flush a Redis other runs share). */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
