/**
 * Loads the gateway's configuration: `config/default.yaml`, then the profile's overlay
 * (`config/<profile>.yaml` when GATEWAY_PROFILE names one), then an explicit file (GATEWAY_CONFIG),
 * then single-key environment overrides; validates the result and returns it frozen.
 *
 * Objects merge key by key; arrays and scalars replace. Any problem throws a ConfigError whose
 * message names the file or variable and the key, so start-up stops with something an on-call
 * engineer can act on.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { configDefaults, configSchema, type GatewayConfig } from './schema';
import { ConfigError, envOverrides, parseEnvValue } from './env-overrides';

export { ConfigError };

/** The repository's config/ folder, found from this file both in src/ (ts) and dist/src (js). */
export function defaultConfigDir(): string {
  const fromDist = resolve(__dirname, '..', '..', '..', 'config');
  if (existsSync(join(fromDist, 'default.yaml'))) return fromDist;
  return resolve(__dirname, '..', '..', 'config');
}

type ConfigTree = Record<string, unknown>;

function isTree(value: unknown): value is ConfigTree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeInto(base: ConfigTree, overlay: ConfigTree): ConfigTree {
  const merged: ConfigTree = { ...base };
  for (const [key, value] of Object.entries(overlay)) {
    const current = merged[key];
    merged[key] = isTree(current) && isTree(value) ? mergeInto(current, value) : value;
  }
  return merged;
}

function readYamlFile(path: string): ConfigTree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read config file ${path}: ${(cause as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (cause) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(cause as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isTree(parsed)) throw new ConfigError(`config file ${path} must hold a mapping at the top`);
  return parsed;
}

function setPath(tree: ConfigTree, path: (string | number)[], value: unknown, variable: string): void {
  let node: unknown = tree;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string | number;
    const next: unknown = (node as Record<string | number, unknown>)[key];
    if (typeof next !== 'object' || next === null) {
      throw new ConfigError(`${variable}: the configuration has no ${path.slice(0, i + 1).join('.')}`);
    }
    node = next;
  }
  (node as Record<string | number, unknown>)[path[path.length - 1] as string | number] = value;
}

function cloneTree<T>(value: T): T {
  return structuredClone(value);
}

const validateConfig = new Ajv({ allErrors: true, strict: true }).compile(configSchema);

function describeSchemaErrors(): string {
  const errors = validateConfig.errors ?? [];
  return errors
    .map((error) => {
      const key = error.instancePath === '' ? '(top level)' : error.instancePath.slice(1).replace(/\//g, '.');
      const extra = error.keyword === 'additionalProperties'
        ? `: unknown key "${String((error.params as { additionalProperty: string }).additionalProperty)}"`
        : error.keyword === 'enum'
          ? `: must be one of ${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)}`
          : ` ${error.message ?? 'is invalid'}`;
      return `${key}${extra}`;
    })
    .join('; ');
}

export interface LoadConfigOptions {
  configDir?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(options: LoadConfigOptions = {}): GatewayConfig {
  const configDir = options.configDir ?? defaultConfigDir();
  const env = options.env ?? process.env;

  let tree: ConfigTree = cloneTree(configDefaults) as unknown as ConfigTree;
  tree = mergeInto(tree, readYamlFile(join(configDir, 'default.yaml')));

  const profile = env['GATEWAY_PROFILE'];
  if (profile !== undefined && profile !== '' && profile !== 'embedded') {
    if (!/^[a-z0-9-]+$/.test(profile)) {
      throw new ConfigError(`GATEWAY_PROFILE: "${profile}" is not a profile name`);
    }
    const profilePath = join(configDir, `${profile}.yaml`);
    if (!existsSync(profilePath)) {
      throw new ConfigError(`GATEWAY_PROFILE: no file ${profilePath} for profile "${profile}"`);
    }
    tree = mergeInto(tree, readYamlFile(profilePath));
  }

  const extraFile = env['GATEWAY_CONFIG'];
  if (extraFile !== undefined && extraFile !== '') tree = mergeInto(tree, readYamlFile(resolve(extraFile)));

  for (const override of envOverrides) {
    const text = env[override.variable];
    if (text === undefined || text === '') continue;
    setPath(tree, override.path, parseEnvValue(override, text), override.variable);
  }

  if (!validateConfig(tree)) {
    throw new ConfigError(`invalid configuration: ${describeSchemaErrors()}`);
  }
  const config = tree as unknown as GatewayConfig;
  const shedding = config.authorise.shedding;
  if (shedding.minInflight > shedding.maxInflight) {
    throw new ConfigError(`invalid configuration: /authorise/shedding: minInflight ${shedding.minInflight} `
      + `is above maxInflight ${shedding.maxInflight}`);
  }
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
