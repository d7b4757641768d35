// Endpoints of the real services the integration tests use. scripts/services.sh starts them on these
// defaults; a variable overrides one (e.g. a 3-member etcd cluster, or services run elsewhere).
// The gateway reads the same variables, so tests and the process under test always agree.

function fromEnvironment(name: string, fallback: string): string {
  const value = process.env[name];
  // An empty variable (`GATEWAY_REDIS_URL= npm test`) means "not set", not "no endpoint".
  return value === undefined || value.trim() === '' ? fallback : value.trim();
}

function listFromEnvironment(name: string, fallback: string): readonly string[] {
  return fromEnvironment(name, fallback)
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:16379';
export const DEFAULT_ETCD_ENDPOINTS = 'http://127.0.0.1:12379';
export const DEFAULT_CASSANDRA_CONTACT_POINTS = '127.0.0.1:19042';
export const DEFAULT_CASSANDRA_DC = 'datacenter1';

/** `GATEWAY_REDIS_URL`, e.g. `redis://127.0.0.1:16379`. */
export const redisUrl: string = fromEnvironment('GATEWAY_REDIS_URL', DEFAULT_REDIS_URL);

/** `GATEWAY_ETCD_ENDPOINTS`, comma-separated `http://host:port` client URLs. */
export const etcdEndpoints: readonly string[] = listFromEnvironment('GATEWAY_ETCD_ENDPOINTS', DEFAULT_ETCD_ENDPOINTS);

/** `GATEWAY_CASSANDRA_CONTACT_POINTS`, comma-separated `host:port`. */
export const cassandraContactPoints: readonly string[] = listFromEnvironment(
  'GATEWAY_CASSANDRA_CONTACT_POINTS',
  DEFAULT_CASSANDRA_CONTACT_POINTS,
);

/** `GATEWAY_CASSANDRA_DC`: the driver's localDataCenter (SimpleSnitch names it `datacenter1`). */
export const cassandraLocalDataCenter: string = fromEnvironment('GATEWAY_CASSANDRA_DC', DEFAULT_CASSANDRA_DC);
