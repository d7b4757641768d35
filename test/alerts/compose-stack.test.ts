/**
 * The docker-compose stack, as far as it can be checked without a Docker engine (none runs on the
 * project's machines): Docker Compose itself (Debian's docker-compose 1.29, through
 * scripts/compose-config.sh) validates and resolves docker-compose.yml, and the resolved file is
 * checked against the repository: Prometheus is given the scrape configuration and the alert rules
 * at the paths that configuration reads, Grafana its provisioning and the dashboard at the path the
 * provisioning names, and the gateway the stack builds loads its configuration with the
 * environment the stack gives it, listening where the scrape and the published ports expect.
 * What stays unchecked here is pulling the images and running the containers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load-config';
import { isRecord, readRepoFile, repoRoot } from './repo-files';

/** The two secrets the compose file requires from the environment (its `${VAR:?...}`). */
const SECRETS = { GATEWAY_ADMIN_TOKEN: 'compose-test-admin-token', GATEWAY_PAN_HASH_KEY: 'compose-test-pan-hash-key' };

function composeConfig(secrets: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['GATEWAY_ADMIN_TOKEN'];
  delete env['GATEWAY_PAN_HASH_KEY'];
  const run = spawnSync('bash', [join(repoRoot(), 'scripts', 'compose-config.sh')],
    { encoding: 'utf8', timeout: 300_000, env: { ...env, ...secrets } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

type Service = Record<string, unknown>;

function resolvedServices(): Record<string, Service> {
  const run = composeConfig(SECRETS);
  assert.equal(run.status, 0, `docker-compose config failed:\n${run.stderr}`);
  const document: unknown = parseYaml(run.stdout);
  assert.ok(isRecord(document) && isRecord(document['services']), 'a services map');
  const services: Record<string, Service> = {};
  for (const [name, service] of Object.entries(document['services'])) {
    assert.ok(isRecord(service), `service ${name}`);
    services[name] = service;
  }
  return services;
}

/** A service's bind mounts as Compose resolved them ("/abs/source:/target[:ro]"). */
function bindMounts(service: Service): { source: string; target: string }[] {
  const volumes = service['volumes'];
  if (!Array.isArray(volumes)) return [];
  return volumes.map((volume) => {
    assert.equal(typeof volume, 'string', 'a bind mount in short form');
    const [source, target] = (volume as string).split(':');
    assert.ok(source !== undefined && target !== undefined, `bind mount ${String(volume)}`);
    return { source, target };
  });
}

/** The repository path a container path is mounted from, or undefined when nothing mounts it. */
function repoPathFor(service: Service, containerPath: string): string | undefined {
  for (const mount of bindMounts(service)) {
    if (containerPath === mount.target || containerPath.startsWith(`${mount.target}/`)) {
      return relative(repoRoot(), join(mount.source, containerPath.slice(mount.target.length)));
    }
  }
  return undefined;
}

/** Container ports a service publishes, from Compose's resolved "host:port:containerPort/tcp". */
function publishedContainerPorts(service: Service): number[] {
  const ports = service['ports'];
  if (!Array.isArray(ports)) return [];
  return ports.map((port) => Number(String(port).split(':').at(-1)?.split('/')[0]));
}

/** The ENV lines of the Dockerfile's final stage, as the container's environment starts. */
function dockerfileEnvironment(): Record<string, string> {
  const stages = readRepoFile('Dockerfile').split(/^FROM /m);
  const environment: Record<string, string> = {};
  for (const line of (stages.at(-1) ?? '').split('\n')) {
    const match = /^ENV\s+(.+)$/.exec(line.trim());
    if (match === null) continue;
    for (const pair of match[1]!.split(/\s+/)) {
      const [name, value] = pair.split('=');
      if (name !== undefined && value !== undefined) environment[name] = value;
    }
  }
  return environment;
}

test('Docker Compose accepts docker-compose.yml and resolves every service of the stack', () => {
  const services = resolvedServices();
  assert.deepEqual(Object.keys(services).sort(), ['cassandra', 'etcd', 'gateway', 'grafana', 'prometheus', 'redis']);
  const gateway = services['gateway']!;
  assert.ok(isRecord(gateway['build']) && typeof gateway['build']['context'] === 'string');
  assert.ok(existsSync(join(gateway['build']['context'], 'Dockerfile')), 'the gateway is built from the repository Dockerfile');
});

test('Docker Compose refuses the stack without the admin token and the PAN hashing key', () => {
  const run = composeConfig({});
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /GATEWAY_ADMIN_TOKEN/);
  const withoutKey = composeConfig({ GATEWAY_ADMIN_TOKEN: SECRETS.GATEWAY_ADMIN_TOKEN });
  assert.notEqual(withoutKey.status, 0);
  assert.match(withoutKey.stderr, /GATEWAY_PAN_HASH_KEY/);
});

test('Prometheus in the stack loads the repository scrape config and every alert rule file, and no rule tests', () => {
  const prometheus = resolvedServices()['prometheus']!;
  for (const mount of bindMounts(prometheus)) assert.ok(existsSync(mount.source), `mounted ${mount.source} exists`);
  assert.equal(repoPathFor(prometheus, '/etc/prometheus/prometheus.yml'), join('config', 'prometheus', 'prometheus.yml'),
    'the image reads its configuration from /etc/prometheus/prometheus.yml');
  const scrapeConfig: unknown = parseYaml(readRepoFile('config/prometheus/prometheus.yml'));
  assert.ok(isRecord(scrapeConfig) && Array.isArray(scrapeConfig['rule_files']));
  const loaded: string[] = [];
  for (const pattern of scrapeConfig['rule_files'] as unknown[]) {
    assert.equal(typeof pattern, 'string');
    const folder = repoPathFor(prometheus, (pattern as string).slice(0, (pattern as string).lastIndexOf('/')));
    assert.ok(folder !== undefined, `rule_files ${String(pattern)} is mounted`);
    const glob = new RegExp(`^${(pattern as string).slice((pattern as string).lastIndexOf('/') + 1)
      .replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`);
    loaded.push(...readdirSync(join(repoRoot(), folder)).filter((name) => glob.test(name)));
  }
  const ruleFiles = readdirSync(join(repoRoot(), 'config', 'alerts')).filter((name) => name.endsWith('.rules.yml'));
  assert.ok(ruleFiles.length > 0);
  assert.deepEqual(loaded.sort(), ruleFiles.sort(), 'every rule file, and not the promtool unit tests');
});

test('Grafana in the stack is provisioned with the Prometheus data source and the dashboard folder', () => {
  const services = resolvedServices();
  const grafana = services['grafana']!;
  for (const mount of bindMounts(grafana)) assert.ok(existsSync(mount.source), `mounted ${mount.source} exists`);
  const provisioning = repoPathFor(grafana, '/etc/grafana/provisioning');
  assert.equal(provisioning, join('config', 'grafana', 'provisioning'), 'the image provisions from /etc/grafana/provisioning');
  const providers: unknown = parseYaml(readRepoFile(join(provisioning, 'dashboards', 'authorisation-gateway.yml')));
  assert.ok(isRecord(providers) && Array.isArray(providers['providers']));
  const provider = (providers['providers'] as unknown[]).filter(isRecord)[0];
  assert.ok(isRecord(provider?.['options']) && typeof provider['options']['path'] === 'string');
  const dashboards = repoPathFor(grafana, provider['options']['path']);
  assert.ok(dashboards !== undefined, `the provider's path ${provider['options']['path']} is mounted`);
  assert.ok(readdirSync(join(repoRoot(), dashboards)).includes('authorisation-gateway.json'));
  const datasources: unknown = parseYaml(readRepoFile(join(provisioning, 'datasources', 'prometheus.yml')));
  assert.ok(isRecord(datasources) && Array.isArray(datasources['datasources']));
  const source = (datasources['datasources'] as unknown[]).filter(isRecord).find((entry) => entry['type'] === 'prometheus');
  assert.equal(source?.['url'], 'http://prometheus:9090', 'the data source is the stack\'s Prometheus service');
  assert.ok(services['prometheus'] !== undefined);
});

test('the gateway the stack builds loads its configuration and listens where the scrape and the published ports expect', () => {
  const services = resolvedServices();
  const gateway = services['gateway']!;
  assert.ok(isRecord(gateway['environment']));
  const environment: NodeJS.ProcessEnv = { ...dockerfileEnvironment() };
  for (const [name, value] of Object.entries(gateway['environment'])) environment[name] = String(value);
  const config = loadConfig({ configDir: join(repoRoot(), 'config'), env: environment });

  assert.equal(config.store.backend, 'stack');
  assert.equal(new URL(config.store.redis.url).hostname, 'redis');
  assert.deepEqual(config.store.etcd.endpoints.map((endpoint) => new URL(endpoint).hostname), ['etcd']);
  assert.deepEqual(config.store.cassandra.contactPoints.map((point) => point.split(':')[0]), ['cassandra']);
  for (const name of ['redis', 'etcd', 'cassandra']) assert.ok(services[name] !== undefined, `service ${name}`);

  // Reachable from the other containers and through the published ports, not only on loopback.
  assert.equal(config.http.host, '0.0.0.0');
  const link = config.links[0];
  assert.ok(link !== undefined);
  assert.equal(link['host'], '0.0.0.0');
  const linkPort = Number(link['port']);
  const published = publishedContainerPorts(gateway);
  assert.ok(published.includes(config.http.port), `HTTP port ${config.http.port} published`);
  assert.ok(published.includes(linkPort), `link port ${linkPort} published`);

  const scrapeConfig: unknown = parseYaml(readRepoFile('config/prometheus/prometheus.yml'));
  assert.ok(isRecord(scrapeConfig) && Array.isArray(scrapeConfig['scrape_configs']));
  const targets = (scrapeConfig['scrape_configs'] as unknown[]).filter(isRecord)
    .flatMap((job) => (Array.isArray(job['static_configs']) ? job['static_configs'] : []))
    .filter(isRecord).flatMap((group) => (Array.isArray(group['targets']) ? group['targets'] : []));
  assert.deepEqual(targets, [`gateway:${config.http.port}`], 'Prometheus scrapes the gateway service on its HTTP port');
});
