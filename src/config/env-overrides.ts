/**
 * Environment variables that override single configuration keys.
 *
 * The list is explicit rather than a generic `GATEWAY__a__b` mapping so that the README can name
 * every variable, and a deployment cannot set a key by accident. Secrets (the admin token, the PAN
 * hashing key) never live in config files: they are read from the environment where they are used.
 */

export type EnvValueKind = 'string' | 'port' | 'list' | 'switch';

export interface EnvOverride {
  variable: string;
  /** Path of the key it sets, e.g. ['http', 'port']. A number selects an array element. */
  path: (string | number)[];
  kind: EnvValueKind;
  description: string;
}

export const envOverrides: readonly EnvOverride[] = [
  { variable: 'GATEWAY_HTTP_HOST', path: ['http', 'host'], kind: 'string',
    description: 'Address the HTTP side (health, metrics, admin API) listens on.' },
  { variable: 'GATEWAY_HTTP_PORT', path: ['http', 'port'], kind: 'port',
    description: 'Port of the HTTP side.' },
  { variable: 'GATEWAY_LINK_HOST', path: ['links', 0, 'host'], kind: 'string',
    description: 'Host of the first scheme link (listen address in server mode).' },
  { variable: 'GATEWAY_LINK_PORT', path: ['links', 0, 'port'], kind: 'port',
    description: 'Port of the first scheme link.' },
  { variable: 'GATEWAY_LOG_LEVEL', path: ['log', 'level'], kind: 'string',
    description: 'pino log level: fatal, error, warn, info, debug, trace or silent.' },
  { variable: 'GATEWAY_SHEDDING', path: ['authorise', 'shedding', 'enabled'], kind: 'switch',
    description: 'on or off: overload shedding at the adaptive in-flight limit (authorise.shedding.enabled).' },
  { variable: 'GATEWAY_STORE_BACKEND', path: ['store', 'backend'], kind: 'string',
    description: 'embedded (no services) or stack (Redis, etcd, Cassandra).' },
  { variable: 'GATEWAY_REDIS_URL', path: ['store', 'redis', 'url'], kind: 'string',
    description: 'Redis URL for the stack backend.' },
  { variable: 'GATEWAY_ETCD_ENDPOINTS', path: ['store', 'etcd', 'endpoints'], kind: 'list',
    description: 'Comma-separated etcd client URLs.' },
  { variable: 'GATEWAY_CASSANDRA_CONTACT_POINTS', path: ['store', 'cassandra', 'contactPoints'],
    kind: 'list', description: 'Comma-separated Cassandra host:port contact points.' },
  { variable: 'GATEWAY_CASSANDRA_DC', path: ['store', 'cassandra', 'localDataCenter'],
    kind: 'string', description: 'Cassandra local data centre name.' },
];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Converts one variable's text to the value its key takes, or throws naming the variable. */
export function parseEnvValue(override: EnvOverride, text: string): string | number | boolean | string[] {
  switch (override.kind) {
    case 'string':
      return text;
    case 'port': {
      if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) {
        throw new ConfigError(`${override.variable}: "${text}" is not a TCP port (0-65535)`);
      }
      return Number(text);
    }
    case 'switch': {
      if (text === 'on' || text === 'true') return true;
      if (text === 'off' || text === 'false') return false;
      throw new ConfigError(`${override.variable}: "${text}" is not on or off`);
    }
    case 'list': {
      const items = text.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
      if (items.length === 0) throw new ConfigError(`${override.variable}: empty list`);
      return items;
    }
  }
}
