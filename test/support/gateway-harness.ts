/**
 * Test harness: a whole gateway in-process on free ports with the embedded store in a temporary
 * folder, and a scheme peer (the simulator's) connected and signed on. Also builders for the
 * scheme messages tests send.
 */
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { IsoMessage, loadDialect } from '../../src/iso8583';
import { framingFor } from '../../src/network-link/framing';
import { SchemePeer } from '../../src/simulator/scheme-peer';
import { loadConfig } from '../../src/config/load-config';
import type { GatewayConfig } from '../../src/config/schema';
import { startGateway, type RunningGateway } from '../../src/gateway';
import { cassandraContactPoints, etcdEndpoints, redisUrl } from './services';

export const ADMIN_TOKEN = 'test-admin-token';

export interface HarnessOptions {
  /** embedded (default) or stack: the real Redis, etcd and Cassandra, in a keyspace and key
   * prefixes of this gateway's own so test files never see each other's data. */
  backend?: 'embedded' | 'stack';
  /** With backend stack: reuse these names (a restart of the "same" gateway). */
  stackNames?: StackNames;
  env?: Record<string, string>;
  /** Changes to the loaded configuration (e.g. a shorter budget). */
  configure?: (config: GatewayConfig) => GatewayConfig;
  /** Captured log lines (JSON text). */
  logLines?: string[];
}

export interface StackNames { keyspace: string; redisKeyPrefix: string; etcdPrefix: string; dataDir: string }

let stackCounter = 0;

/** Fresh names for one stack gateway's data: keyspace, Redis key prefix, etcd prefix. */
export function newStackNames(): StackNames {
  stackCounter++;
  const tag = `t${process.pid}_${stackCounter}_${Date.now() % 100000}`;
  return { keyspace: `gw_${tag}`, redisKeyPrefix: `gw${tag}`, etcdPrefix: `/gw-test/${tag}/`,
    dataDir: mkdtempSync(join(tmpdir(), 'gateway-stack-')) };
}

export function applyStackNames(config: GatewayConfig, names: StackNames): GatewayConfig {
  config.store.backend = 'stack';
  config.store.redis.url = redisUrl;
  config.store.etcd.endpoints = [...etcdEndpoints];
  config.store.cassandra.contactPoints = [...cassandraContactPoints];
  config.store.cassandra.keyspace = names.keyspace;
  config.store.cassandra.replicationFactor = 1;
  config.store.cassandra.writeConsistency = 'ONE';
  config.store.cassandra.readConsistency = 'ONE';
  // The shared test machine: generous store timeouts so load elsewhere does not fail decisions.
  config.store.cassandra.writeTimeoutMs = 2000;
  config.store.cassandra.appendTimeoutMs = 2500;
  config.store.cassandra.journalDirectory = join(names.dataDir, 'journal');
  config.store.redis.keyPrefix = names.redisKeyPrefix;
  config.store.redis.commandTimeoutMs = 2000;
  config.store.etcd.prefix = names.etcdPrefix;
  // Fewer shards: each gained shard is rebuilt from Cassandra at start.
  config.authorise.shardCount = 4;
  return config;
}

export async function startTestGateway(options: HarnessOptions = {}): Promise<RunningGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
  const env = {
    GATEWAY_HTTP_PORT: '0', GATEWAY_LINK_PORT: '0', GATEWAY_LOG_LEVEL: 'debug',
    GATEWAY_ADMIN_TOKEN: ADMIN_TOKEN, GATEWAY_PAN_HASH_KEY: 'test-pan-hash-key-0123456789', ...options.env,
  };
  let config = loadConfig({ env });
  config = structuredClone(config);
  config.store.embedded.decisionLogPath = join(dataDir, 'decisions.jsonl');
  // Tests share two cores with services and other test files: a generous budget keeps decisions
  // from turning into stand-in answers under that load. Budget behaviour has its own tests.
  config.authorise.budgetMs = 2000;
  if (options.backend === 'stack') applyStackNames(config, options.stackNames ?? newStackNames());
  if (options.configure) config = options.configure(config);
  const lines = options.logLines;
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (lines !== undefined) for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(line);
      done();
    },
  });
  return startGateway({ config, env, logDestination: destination });
}

export async function connectPeer(gateway: RunningGateway, linkName = 'scheme'): Promise<SchemePeer> {
  const port = gateway.linkPort(linkName);
  if (port === undefined) throw new Error(`link ${linkName} is not listening`);
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const peer = new SchemePeer(socket, {
    dialect: loadDialect('ascii'), framing: framingFor('binary2'), headerBytes: 0, frameBytesMax: 8192,
  });
  const signOn = new IsoMessage('0800').set(7, '1126120000').set(11, '000001').set(70, '001');
  const answer = await peer.requestOnce(signOn, 2000);
  if (answer?.getString(39) !== '00') throw new Error('sign-on was not approved');
  return peer;
}

let stanCounter = 100;

export function nextStan(): string {
  stanCounter = (stanCounter + 1) % 1_000_000;
  return String(stanCounter).padStart(6, '0');
}

export interface AuthorisationFields {
  mti?: string;
  pan: string;
  amountMinor: number;
  billingAmountMinor?: number;
  processingCode?: string;
  stan?: string;
  transmissionDateTime?: string;
  expiry?: string;
  mcc?: string;
  posEntryMode?: string;
  acquirerId?: string;
  rrn?: string;
  approvalCode?: string;
  merchantCountry?: string;
  partialApprovalSupported?: boolean;
  /** DE 90: the original's MTI, STAN, DE 7 and acquirer. */
  original?: { mti: string; stan: string; transmissionDateTime: string; acquirerId: string };
  /** DE 95 actual amount for a partial reversal. */
  replacementAmountMinor?: number;
}

export function schemeMessage(fields: AuthorisationFields): IsoMessage {
  const stan = fields.stan ?? nextStan();
  const message = new IsoMessage(fields.mti ?? '0100')
    .set(2, fields.pan)
    .set(3, fields.processingCode ?? '000000')
    .set(4, String(fields.amountMinor).padStart(12, '0'))
    .set(7, fields.transmissionDateTime ?? '1126120000')
    .set(11, stan)
    .set(32, fields.acquirerId ?? '123456')
    .set(37, fields.rrn ?? `RRN${stan}000`.slice(0, 12))
    .set(41, 'TERM0001')
    .set(49, '826');
  if (fields.billingAmountMinor !== undefined) {
    message.set(6, String(fields.billingAmountMinor).padStart(12, '0')).set(51, '826');
  }
  if (fields.expiry !== undefined) message.set(14, fields.expiry);
  if (fields.mcc !== undefined) message.set(18, fields.mcc);
  if (fields.merchantCountry !== undefined) message.set(19, fields.merchantCountry);
  if (fields.posEntryMode !== undefined) message.set(22, fields.posEntryMode);
  if (fields.approvalCode !== undefined) message.set(38, fields.approvalCode);
  if (fields.partialApprovalSupported) message.set(48, 'R6101' + '1');
  if (fields.original !== undefined) {
    const o = fields.original;
    message.set(90, `${o.mti}${o.stan}${o.transmissionDateTime}${o.acquirerId.padStart(11, '0')}${'0'.repeat(11)}`);
  }
  if (fields.replacementAmountMinor !== undefined) {
    message.set(95, String(fields.replacementAmountMinor).padStart(12, '0') + '0'.repeat(30));
  }
  return message;
}

/** The admin API over real HTTP, with the test bearer token. */
export async function admin(gateway: RunningGateway, method: string, path: string, body?: unknown):
  Promise<{ status: number; body: Record<string, unknown> }> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await fetch(`http://127.0.0.1:${gateway.httpPort}${path}`, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
