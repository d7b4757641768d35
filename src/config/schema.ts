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
  /** First part of every ledger and card key: lets several gateways or environments share a Redis. */
  keyPrefix: string;
  /** A command unanswered after this long fails: inside the budget, leaving time to stand in. */
  commandTimeoutMs: number;
}

export interface EtcdConfig {
  endpoints: string[];
  /** Key prefix of shard ownership; ends with '/'. */
  prefix: string;
  /** Lease TTL (whole seconds): a dead owner's shards move after about this long. */
  leaseTtlSeconds: number;
}

export type ConsistencyName = 'ONE' | 'LOCAL_ONE' | 'LOCAL_QUORUM' | 'QUORUM' | 'EACH_QUORUM' | 'ALL';

export interface CassandraConfig {
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  /** SimpleStrategy replication factor used when the keyspace is created (3 in production). */
  replicationFactor: number;
  writeConsistency: ConsistencyName;
  readConsistency: ConsistencyName;
  /** Client timeout of one decision write; must fit the budget. */
  writeTimeoutMs: number;
  /** Bound on a whole append (all rows, any retry). */
  appendTimeoutMs: number;
  /** decline: 91 and release the hold; journal: local fsync'd journal, replayed later. */
  writeFailurePolicy: 'decline' | 'journal';
  journalDirectory: string;
  /** Period of the reconciliation job comparing Redis holds with Cassandra (on shard owners). */
  reconcileIntervalMs: number;
  /**
   * Group commit of decision batches (docs/persistence.md): batches written at once, and most
   * decisions in one. decisionsPerBatch 1 with batchesInFlight 256 is one request per decision, for
   * a cluster whose batch warning thresholds cannot be raised.
   */
  groupCommit: { batchesInFlight: number; decisionsPerBatch: number };
}

export interface StoreConfig {
  backend: StoreBackend;
  embedded: EmbeddedStoreConfig;
  redis: RedisConfig;
  etcd: EtcdConfig;
  cassandra: CassandraConfig;
}

export interface ShutdownConfig {
  /** Bound on a graceful drain: in-flight authorisations get this long to finish on SIGTERM. */
  drainTimeoutMs: number;
}

export interface CardDefaults {
  controls: {
    frozen: boolean; gamblingBlock: boolean; atmBlock: boolean; contactlessBlock: boolean;
    magstripeBlock: boolean; onlineBlock: boolean; blockedCountries: string[];
  };
  limits: {
    dailySpendMinor: number; monthlySpendMinor: number; atmDailyAmountMinor: number;
    atmDailyCount: number; contactlessSingleMinor: number;
  };
}

export interface AuthoriseConfig {
  /** The scheme's answer window as the gateway budgets it, from frame arrival. */
  budgetMs: number;
  /** The stand-in answer goes this long before the deadline, leaving time to encode and write. */
  deadlineMarginMs: number;
  standIn: { policy: 'decline' | 'approve-within-limits'; maxAmountMinor: number };
  /**
   * Overload shedding: decisions in flight are held to an adaptive limit (between the bounds) that
   * follows their latency; a request beyond it is answered by the stand-in policy without deciding.
   */
  shedding: { enabled: boolean; minInflight: number; maxInflight: number };
  holdExpiryDays: number;
  /** Expiry sweep period on the shard owner. */
  sweepIntervalMs: number;
  shardCount: number;
  /** Most recent decisions kept in memory to answer repeats without a store read. */
  recentDecisions: number;
  cardDefaults: CardDefaults;
}

export interface EmbeddedStoreConfig {
  /** Where the embedded decision log lives (relative paths are from the working directory). */
  decisionLogPath: string;
}

export interface GatewayConfig {
  profile: string;
  authorise: AuthoriseConfig;
  /** Demo accounts and cards loaded at start (a YAML file under config/), or '' for none. */
  seedFile: string;
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
  authorise: {
    budgetMs: 50,
    deadlineMarginMs: 5,
    standIn: { policy: 'decline', maxAmountMinor: 2500 },
    shedding: { enabled: true, minInflight: 16, maxInflight: 1024 },
    // Monzo's published choice (domain brief section 5): long enough for most presentments.
    holdExpiryDays: 7,
    sweepIntervalMs: 60_000,
    shardCount: 16,
    recentDecisions: 100_000,
    cardDefaults: {
      controls: {
        frozen: false, gamblingBlock: false, atmBlock: false, contactlessBlock: false,
        magstripeBlock: false, onlineBlock: false, blockedCountries: [],
      },
      // Monzo-like defaults (domain brief section 8): 10,000/day, 400/day at ATMs, 100 contactless.
      limits: {
        dailySpendMinor: 1_000_000, monthlySpendMinor: 5_000_000, atmDailyAmountMinor: 40_000,
        atmDailyCount: 10, contactlessSingleMinor: 10_000,
      },
    },
  },
  seedFile: '',
  http: { host: '127.0.0.1', port: 8080 },
  // Five seconds covers many 50 ms budgets and stays inside a typical orchestrator's 30 s grace.
  shutdown: { drainTimeoutMs: 5000 },
  log: { level: 'info' },
  links: [],
  store: {
    backend: 'embedded',
    embedded: { decisionLogPath: 'var/decisions.jsonl' },
    redis: { url: 'redis://127.0.0.1:16379', keyPrefix: 'gw', commandTimeoutMs: 40 },
    etcd: { endpoints: ['http://127.0.0.1:12379'], prefix: '/authorisation-gateway/', leaseTtlSeconds: 3 },
    cassandra: {
      contactPoints: ['127.0.0.1:19042'], localDataCenter: 'datacenter1', keyspace: 'gateway',
      // Production: RF 3 and LOCAL_QUORUM (one replica may be down). The stack profile overrides both
      // for the single test node.
      replicationFactor: 3, writeConsistency: 'LOCAL_QUORUM', readConsistency: 'LOCAL_QUORUM',
      // 50 ms budget: ~30 ms for the record after decode, rules and the Redis hold.
      writeTimeoutMs: 30, appendTimeoutMs: 35,
      writeFailurePolicy: 'decline', journalDirectory: 'var/decision-journal',
      reconcileIntervalMs: 300_000,
      groupCommit: { batchesInFlight: 2, decisionsPerBatch: 12 },
    },
  },
};

const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const nonEmptyString = { type: 'string', minLength: 1 } as const;
/** ISO 8583 amounts are n12: at most 999,999,999,999 minor units. */
const minorAmount = { type: 'integer', minimum: 0, maximum: 999_999_999_999 } as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['profile', 'authorise', 'seedFile', 'http', 'shutdown', 'log', 'links', 'store'],
  properties: {
    profile: nonEmptyString,
    seedFile: { type: 'string' },
    authorise: {
      type: 'object',
      additionalProperties: false,
      required: ['budgetMs', 'deadlineMarginMs', 'standIn', 'shedding', 'holdExpiryDays', 'sweepIntervalMs', 'shardCount',
        'recentDecisions', 'cardDefaults'],
      properties: {
        budgetMs: { type: 'integer', minimum: 1, maximum: 60000 },
        deadlineMarginMs: { type: 'integer', minimum: 0, maximum: 60000 },
        standIn: {
          type: 'object',
          additionalProperties: false,
          required: ['policy', 'maxAmountMinor'],
          properties: {
            policy: { enum: ['decline', 'approve-within-limits'] },
            maxAmountMinor: minorAmount,
          },
        },
        shedding: {
          type: 'object',
          additionalProperties: false,
          required: ['enabled', 'minInflight', 'maxInflight'],
          properties: {
            enabled: { type: 'boolean' },
            minInflight: { type: 'integer', minimum: 1, maximum: 1_000_000 },
            maxInflight: { type: 'integer', minimum: 1, maximum: 1_000_000 },
          },
        },
        holdExpiryDays: { type: 'integer', minimum: 1, maximum: 31 },
        sweepIntervalMs: { type: 'integer', minimum: 100, maximum: 3_600_000 },
        shardCount: { type: 'integer', minimum: 1, maximum: 4096 },
        recentDecisions: { type: 'integer', minimum: 0, maximum: 10_000_000 },
        cardDefaults: {
          type: 'object',
          additionalProperties: false,
          required: ['controls', 'limits'],
          properties: {
            controls: {
              type: 'object',
              additionalProperties: false,
              required: ['frozen', 'gamblingBlock', 'atmBlock', 'contactlessBlock', 'magstripeBlock',
                'onlineBlock', 'blockedCountries'],
              properties: {
                frozen: { type: 'boolean' }, gamblingBlock: { type: 'boolean' }, atmBlock: { type: 'boolean' },
                contactlessBlock: { type: 'boolean' }, magstripeBlock: { type: 'boolean' },
                onlineBlock: { type: 'boolean' },
                blockedCountries: { type: 'array', items: { type: 'string', pattern: '^[0-9A-Z]{3}$' } },
              },
            },
            limits: {
              type: 'object',
              additionalProperties: false,
              required: ['dailySpendMinor', 'monthlySpendMinor', 'atmDailyAmountMinor', 'atmDailyCount',
                'contactlessSingleMinor'],
              properties: {
                dailySpendMinor: minorAmount, monthlySpendMinor: minorAmount, atmDailyAmountMinor: minorAmount,
                atmDailyCount: { type: 'integer', minimum: 0, maximum: 1000 }, contactlessSingleMinor: minorAmount,
              },
            },
          },
        },
      },
    },
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
      required: ['backend', 'embedded', 'redis', 'etcd', 'cassandra'],
      properties: {
        backend: { enum: ['embedded', 'stack'] },
        embedded: {
          type: 'object',
          additionalProperties: false,
          required: ['decisionLogPath'],
          properties: { decisionLogPath: nonEmptyString },
        },
        redis: {
          type: 'object',
          additionalProperties: false,
          required: ['url', 'keyPrefix', 'commandTimeoutMs'],
          properties: {
            url: { type: 'string', pattern: '^rediss?://' },
            keyPrefix: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,32}$' },
            commandTimeoutMs: { type: 'integer', minimum: 1, maximum: 60000 },
          },
        },
        etcd: {
          type: 'object',
          additionalProperties: false,
          required: ['endpoints', 'prefix', 'leaseTtlSeconds'],
          properties: {
            endpoints: {
              type: 'array',
              minItems: 1,
              items: { type: 'string', pattern: '^https?://' },
            },
            prefix: { type: 'string', pattern: '^/.*/$' },
            leaseTtlSeconds: { type: 'integer', minimum: 1, maximum: 60 },
          },
        },
        cassandra: {
          type: 'object',
          additionalProperties: false,
          required: ['contactPoints', 'localDataCenter', 'keyspace', 'replicationFactor', 'writeConsistency',
            'readConsistency', 'writeTimeoutMs', 'appendTimeoutMs', 'writeFailurePolicy', 'journalDirectory',
            'reconcileIntervalMs', 'groupCommit'],
          properties: {
            contactPoints: { type: 'array', minItems: 1, items: nonEmptyString },
            localDataCenter: nonEmptyString,
            keyspace: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,47}$' },
            replicationFactor: { type: 'integer', minimum: 1, maximum: 9 },
            writeConsistency: { enum: ['ONE', 'LOCAL_ONE', 'LOCAL_QUORUM', 'QUORUM', 'EACH_QUORUM', 'ALL'] },
            readConsistency: { enum: ['ONE', 'LOCAL_ONE', 'LOCAL_QUORUM', 'QUORUM', 'EACH_QUORUM', 'ALL'] },
            writeTimeoutMs: { type: 'integer', minimum: 1, maximum: 60000 },
            appendTimeoutMs: { type: 'integer', minimum: 1, maximum: 60000 },
            writeFailurePolicy: { enum: ['decline', 'journal'] },
            journalDirectory: nonEmptyString,
            reconcileIntervalMs: { type: 'integer', minimum: 1000, maximum: 86_400_000 },
            groupCommit: {
              type: 'object',
              additionalProperties: false,
              required: ['batchesInFlight', 'decisionsPerBatch'],
              properties: {
                batchesInFlight: { type: 'integer', minimum: 1, maximum: 256 },
                // 24 decisions are about 50 KiB, Cassandra's default refusal threshold for a batch.
                decisionsPerBatch: { type: 'integer', minimum: 1, maximum: 20 },
              },
            },
          },
        },
      },
    },
  },
} as const;
