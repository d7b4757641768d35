import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadConfig, defaultConfigDir, ConfigError } from '../../src/config/load-config';

function configDirWith(overlay: string, name = 'default.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
  copyFileSync(join(defaultConfigDir(), 'default.yaml'), join(dir, 'default.yaml'));
  copyFileSync(join(defaultConfigDir(), 'stack.yaml'), join(dir, 'stack.yaml'));
  writeFileSync(join(dir, name), overlay);
  return dir;
}

test('the shipped default configuration loads: HTTP on 127.0.0.1:8080, link on 8583, embedded store', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.http.host, '127.0.0.1');
  assert.equal(config.http.port, 8080);
  assert.equal(config.links[0]?.['port'], 8583);
  assert.equal(config.store.backend, 'embedded');
});

test('an unknown key stops loading with a message naming the key', () => {
  const dir = configDirWith('http:\n  host: 127.0.0.1\n  port: 8080\n  prot: 1\n');
  assert.throws(() => loadConfig({ configDir: dir, env: {} }),
    (error: unknown) => error instanceof ConfigError && /http: unknown key "prot"/.test(error.message));
});

test('a wrong value stops loading with a message naming the key', () => {
  const dir = configDirWith('log:\n  level: loud\n');
  assert.throws(() => loadConfig({ configDir: dir, env: {} }),
    (error: unknown) => error instanceof ConfigError && /log\.level/.test(error.message));
});

test('environment variables override single keys', () => {
  const config = loadConfig({ env: { GATEWAY_HTTP_PORT: '18080', GATEWAY_LINK_PORT: '18583',
    GATEWAY_ETCD_ENDPOINTS: 'http://127.0.0.1:1,http://127.0.0.1:2' } });
  assert.equal(config.http.port, 18080);
  assert.equal(config.links[0]?.['port'], 18583);
  assert.deepEqual(config.store.etcd.endpoints, ['http://127.0.0.1:1', 'http://127.0.0.1:2']);
});

test('a malformed environment value stops loading naming the variable', () => {
  assert.throws(() => loadConfig({ env: { GATEWAY_HTTP_PORT: 'eighty' } }),
    (error: unknown) => error instanceof ConfigError && /GATEWAY_HTTP_PORT/.test(error.message));
});

test('the stack profile overlays the service endpoints started by the services script', () => {
  const config = loadConfig({ env: { GATEWAY_PROFILE: 'stack' } });
  assert.equal(config.store.backend, 'stack');
  assert.equal(config.store.redis.url, 'redis://127.0.0.1:16379');
  assert.deepEqual(config.store.cassandra.contactPoints, ['127.0.0.1:19042']);
  // Keys the overlay does not name keep the defaults.
  assert.equal(config.http.port, 8080);
});

test('the Cassandra group commit defaults to 2 batches of at most 12 decisions; one key overrides alone; out of range stops loading', () => {
  assert.deepEqual(loadConfig({ env: {} }).store.cassandra.groupCommit, { batchesInFlight: 2, decisionsPerBatch: 12 });
  const oneEach = configDirWith('store:\n  cassandra:\n    groupCommit:\n      decisionsPerBatch: 1\n', 'stack.yaml');
  assert.deepEqual(loadConfig({ configDir: oneEach, env: { GATEWAY_PROFILE: 'stack' } }).store.cassandra.groupCommit,
    { batchesInFlight: 2, decisionsPerBatch: 1 });
  const tooMany = configDirWith('store:\n  cassandra:\n    groupCommit:\n      decisionsPerBatch: 40\n', 'stack.yaml');
  assert.throws(() => loadConfig({ configDir: tooMany, env: { GATEWAY_PROFILE: 'stack' } }),
    (error: unknown) => error instanceof ConfigError && /groupCommit/.test(error.message));
});

test('overload shedding is on by default between 16 and 1024 in flight; a minimum above the maximum stops loading', () => {
  assert.deepEqual(loadConfig({ env: {} }).authorise.shedding, { enabled: true, minInflight: 16, maxInflight: 1024 });
  const off = loadConfig({ configDir: configDirWith('authorise:\n  shedding:\n    enabled: false\n', 'off.yaml'),
    env: { GATEWAY_PROFILE: 'off' } });
  assert.equal(off.authorise.shedding.enabled, false);
  assert.equal(off.authorise.shedding.maxInflight, 1024, 'the other keys keep their defaults');
  assert.equal(loadConfig({ env: { GATEWAY_SHEDDING: 'off' } }).authorise.shedding.enabled, false);
  assert.throws(() => loadConfig({ env: { GATEWAY_SHEDDING: 'maybe' } }),
    (error: unknown) => error instanceof ConfigError && /GATEWAY_SHEDDING: "maybe" is not on or off/.test(error.message));
  const dir = configDirWith('authorise:\n  shedding:\n    minInflight: 64\n    maxInflight: 32\n', 'bad.yaml');
  assert.throws(() => loadConfig({ configDir: dir, env: { GATEWAY_PROFILE: 'bad' } }),
    (error: unknown) => error instanceof ConfigError && /shedding: minInflight 64 is above maxInflight 32/.test(error.message));
});

test('an unknown profile stops loading naming GATEWAY_PROFILE', () => {
  assert.throws(() => loadConfig({ env: { GATEWAY_PROFILE: 'nowhere' } }),
    (error: unknown) => error instanceof ConfigError && /GATEWAY_PROFILE/.test(error.message));
});

test('the loaded configuration is frozen so no part can change it under another', () => {
  const config = loadConfig({ env: {} });
  assert.throws(() => { (config.http as { port: number }).port = 1; }, TypeError);
});
