/**
 * The cassandra-driver client, set up deliberately (../shared/docs/reliability-notes.md section 4):
 * - protocol v4: the driver speaks v1-v4 only; naming it skips a failed v5/DSE probe on every connect;
 * - the local data centre named, so requests stay in it (LOCAL_QUORUM means this DC's replicas);
 * - execution profiles carry consistency and client timeouts per kind of work, so the hot path passes
 *   one constant options object and builds nothing per call;
 * - retries only for idempotent statements, on the next host (retry-policy.ts);
 * - speculative execution off unless configured; the driver never speculates on a non-idempotent
 *   statement anyway, and every statement here is idempotent;
 * - reconnection to a downed node with a short exponential backoff, so a node that is back is used
 *   again within seconds (the journal drains sooner).
 */
import { Client, ExecutionProfile, policies, types, type QueryOptions } from 'cassandra-driver';

const { distance } = types;
import type { CassandraStoreSettings, ConsistencyName } from './options';
import { IdempotentOnlyRetryPolicy } from './retry-policy';

export const consistencyByName: Readonly<Record<ConsistencyName, types.consistencies>> = {
  ONE: types.consistencies.one,
  LOCAL_ONE: types.consistencies.localOne,
  LOCAL_QUORUM: types.consistencies.localQuorum,
  QUORUM: types.consistencies.quorum,
  EACH_QUORUM: types.consistencies.eachQuorum,
  ALL: types.consistencies.all,
};

/** Profile names; statements pick one through the constant option objects below. */
export const Profile = {
  /** Decision rows on the authorisation path: write consistency, tight client timeout. */
  hotWrite: 'decision-write',
  /** Reads that serve an answer or an admin call: read consistency, read timeout. */
  read: 'decision-read',
  /** Off the hot path (journal replay, admin writes, rebuild): same consistency, patient timeout. */
  patientWrite: 'patient-write',
  /** Schema changes: DDL on a loaded node takes seconds. */
  schema: 'schema',
} as const;

/** Options objects reused by every call (no allocation per statement). */
export const hotWriteOptions: Readonly<QueryOptions> = Object.freeze({
  prepare: true, isIdempotent: true, executionProfile: Profile.hotWrite,
});
export const readOptions: Readonly<QueryOptions> = Object.freeze({
  prepare: true, isIdempotent: true, executionProfile: Profile.read,
});
export const patientWriteOptions: Readonly<QueryOptions> = Object.freeze({
  prepare: true, isIdempotent: true, executionProfile: Profile.patientWrite,
});
export const schemaOptions: Readonly<QueryOptions> = Object.freeze({ executionProfile: Profile.schema });

/** DDL on 2 shared cores, or a rebuild reading many partitions, may take seconds. */
const SCHEMA_TIMEOUT_MS = 30_000;

export type CassandraClientSettings = Pick<CassandraStoreSettings,
  'contactPoints' | 'localDataCenter' | 'writeConsistency' | 'readConsistency' | 'writeTimeoutMs' | 'readTimeoutMs'
  | 'connectTimeoutMs' | 'maxRetries' | 'speculativeDelayMs' | 'reconnectBaseDelayMs' | 'reconnectMaxDelayMs'>
  & { patientTimeoutMs: number };

export function createCassandraClient(settings: CassandraClientSettings): Client {
  const retry = new IdempotentOnlyRetryPolicy(settings.maxRetries);
  const write = consistencyByName[settings.writeConsistency];
  const read = consistencyByName[settings.readConsistency];
  const options: ConstructorParameters<typeof Client>[0] = {
    contactPoints: [...settings.contactPoints],
    localDataCenter: settings.localDataCenter,
    protocolOptions: { maxVersion: 4 },
    socketOptions: {
      connectTimeout: settings.connectTimeoutMs,
      readTimeout: settings.readTimeoutMs,
      // Many concurrent small writes: Nagle would hold them back.
      tcpNoDelay: true,
    },
    policies: {
      retry,
      reconnection: new policies.reconnection.ExponentialReconnectionPolicy(
        settings.reconnectBaseDelayMs, settings.reconnectMaxDelayMs, true),
      speculativeExecution: settings.speculativeDelayMs > 0
        ? new policies.speculativeExecution.ConstantSpeculativeExecutionPolicy(settings.speculativeDelayMs, 1)
        : new policies.speculativeExecution.NoSpeculativeExecutionPolicy(),
    },
    queryOptions: { consistency: read, prepare: true },
    // Two connections to each local node instead of the driver's one: a decision is several
    // statements, and under load one connection's 2,048 stream ids run out (the driver then builds a
    // NoHostAvailableError per refused statement, seen at 28% of the main thread in a profile).
    pooling: { coreConnectionsPerHost: { [distance.local]: 2, [distance.remote]: 1 }, maxRequestsPerConnection: 2048 },
    profiles: [
      new ExecutionProfile(Profile.hotWrite, { consistency: write, readTimeout: settings.writeTimeoutMs, retry }),
      new ExecutionProfile(Profile.read, { consistency: read, readTimeout: settings.readTimeoutMs, retry }),
      new ExecutionProfile(Profile.patientWrite, { consistency: write, readTimeout: settings.patientTimeoutMs, retry }),
      new ExecutionProfile(Profile.schema, { consistency: write, readTimeout: SCHEMA_TIMEOUT_MS, retry }),
    ],
  };
  const client = new Client(options);
  shutDownDroppedHosts(client);
  return client;
}

/**
 * cassandra-driver 4.10 can replace a Host in `client.hosts` without shutting down the one it
 * replaces: after every node was unreachable, the control connection re-initialises from the contact
 * points and sets a new Host under the same address. The old host's pool then reconnects for ever
 * (observed here through a proxy that cut and restored the node: one leaked connection per outage,
 * and a client that was shut down never lets the process exit). The map emits 'remove' for the host
 * it drops, so that host is shut down here; Host.shutdown is the driver's own (untyped) method.
 */
function shutDownDroppedHosts(client: Client): void {
  client.hosts.on('remove', (host: unknown) => { shutDownHost(host); });
}

/** Host.shutdown is the driver's own (untyped) method: closes the pool, clears its health timer. */
function shutDownHost(host: unknown): Promise<void> {
  const pooled = host as { shutdown?: (waitForPending: boolean) => Promise<void> };
  if (typeof pooled.shutdown !== 'function') return Promise.resolve();
  return pooled.shutdown(false).catch(() => undefined);
}

/**
 * Shuts the client down, then every host it still knows. `client.shutdown()` shuts down the hosts
 * it saw when it began; a reconnection racing it can leave a host whose pool reconnects and whose
 * health timer runs for ever, holding the process open.
 */
export async function shutdownCassandra(client: Client): Promise<void> {
  // A control-connection refresh under way when the client shuts down can still add a host
  // afterwards; its pool and health timer would then outlive the client.
  client.hosts.on('add', (host: unknown) => { void shutDownHost(host); });
  await client.shutdown();
  await Promise.all(client.hosts.values().map((host) => shutDownHost(host)));
}

/**
 * Connected client for the store. No session keyspace: every statement names its keyspace, so the
 * same client can create the keyspace first (migrations) and then use it.
 */
export async function connectCassandra(settings: CassandraClientSettings): Promise<Client> {
  const client = createCassandraClient(settings);
  try {
    await client.connect();
  } catch (error: unknown) {
    await shutdownCassandra(client).catch(() => undefined);
    throw error;
  }
  return client;
}

/** Client settings from the store settings; the patient timeout is the journal's replay timeout. */
export function clientSettingsOf(settings: CassandraStoreSettings): CassandraClientSettings {
  return {
    contactPoints: settings.contactPoints, localDataCenter: settings.localDataCenter,
    writeConsistency: settings.writeConsistency, readConsistency: settings.readConsistency,
    writeTimeoutMs: settings.writeTimeoutMs, readTimeoutMs: settings.readTimeoutMs,
    connectTimeoutMs: settings.connectTimeoutMs, maxRetries: settings.maxRetries,
    speculativeDelayMs: settings.speculativeDelayMs, reconnectBaseDelayMs: settings.reconnectBaseDelayMs,
    reconnectMaxDelayMs: settings.reconnectMaxDelayMs, patientTimeoutMs: settings.journal.replayTimeoutMs,
  };
}
