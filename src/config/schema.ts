/**
 * The gateway's configuration: its TypeScript shape and the JSON Schema that checks it at start-up.
 *
 * Every object is closed (`additionalProperties: false`) so a misspelt key stops start-up instead of
 * being silently ignored: a bank would rather not start than run on a default it did not choose.
 * Link entries are checked in full by the network link's own validator (src/network-link), which
 * owns that part of the shape; here they only need to be objects.
 */

export type StoreBackend = 'embedded' | 'stack';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface HttpConfig {
  host: string;
  port: number;
}

export interface RedisConfig {
  url: string;
}

export interface EtcdConfig {
  endpoints: string[];
}

export interface CassandraConfig {
  contactPoints: string[];
  localDataCenter: string;
}

export interface StoreConfig {
  backend: StoreBackend;
  redis: RedisConfig;
  etcd: EtcdConfig;
  cassandra: CassandraConfig;
}

export interface ShutdownConfig {
  /** Bound on a graceful drain: in-flight authorisations get this long to finish on SIGTERM. */
  drainTimeoutMs: number;
}

export interface GatewayConfig {
  profile: string;
  http: HttpConfig;
  shutdown: ShutdownConfig;
  log: { level: LogLevel };
  /** Raw link entries; src/network-link validates and fills each one. */
  links: Record<string, unknown>[];
  store: StoreConfig;
}

/** Defaults that apply under every file, so a file names only what it changes. */
export const configDefaults: GatewayConfig = {
  profile: 'embedded',
  http: { host: '127.0.0.1', port: 8080 },
  // Five seconds covers many 50 ms budgets and stays inside a typical orchestrator's 30 s grace.
  shutdown: { drainTimeoutMs: 5000 },
  log: { level: 'info' },
  links: [],
  store: {
    backend: 'embedded',
    redis: { url: 'redis://127.0.0.1:16379' },
    etcd: { endpoints: ['http://127.0.0.1:12379'] },
    cassandra: { contactPoints: ['127.0.0.1:19042'], localDataCenter: 'datacenter1' },
  },
};

const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const nonEmptyString = { type: 'string', minLength: 1 } as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['profile', 'http', 'shutdown', 'log', 'links', 'store'],
  properties: {
    profile: nonEmptyString,
    http: {
      type: 'object',
      additionalProperties: false,
      required: ['host', 'port'],
      properties: { host: nonEmptyString, port },
    },
    shutdown: {
      type: 'object',
      additionalProperties: false,
      required: ['drainTimeoutMs'],
      properties: { drainTimeoutMs: { type: 'integer', minimum: 0, maximum: 60000 } },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      required: ['level'],
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
      },
    },
    links: {
      type: 'array',
      // One link at least: a gateway with no link to the scheme authorises nothing.
      minItems: 1,
      items: { type: 'object' },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      required: ['backend', 'redis', 'etcd', 'cassandra'],
      properties: {
        backend: { enum: ['embedded', 'stack'] },
        redis: {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          properties: { url: { type: 'string', pattern: '^rediss?://' } },
        },
        etcd: {
          type: 'object',
          additionalProperties: false,
          required: ['endpoints'],
          properties: {
            endpoints: {
              type: 'array',
              minItems: 1,
              items: { type: 'string', pattern: '^https?://' },
            },
          },
        },
        cassandra: {
          type: 'object',
          additionalProperties: false,
          required: ['contactPoints', 'localDataCenter'],
          properties: {
            contactPoints: { type: 'array', minItems: 1, items: nonEmptyString },
            localDataCenter: nonEmptyString,
          },
        },
      },
    },
  },
} as const;
