/**
 * A real Prometheus (the Debian package's server, the same one promtool comes from) runs the
 * repository's scrape configuration and alert rules against a running gateway's /metrics: the
 * target is scraped without error, every rule loads and evaluates, the dashboard's queries answer
 * with data, and an alert goes pending when its condition really happens (the scheme link drops).
 * The unit tests of the rules (promtool test rules) feed them made-up series; this one shows the
 * names and labels they use are the ones the gateway exports.
 *
 * What the docker-compose stack adds (its service names, gateway:8080 and prometheus:9090, and the
 * mounts) is checked by compose-stack.test.ts with Docker Compose's own resolver; Grafana itself and
 * the containers are not run here (no Docker engine).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../../bench/load/gateway-process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { RunningGateway } from '../../src/gateway';
import type { SchemePeer } from '../../src/simulator/scheme-peer';
import { DEFAULT_CARDS } from '../../src/simulator/traffic';
import { loadConfig } from '../../src/config/load-config';
import { connectPeer, schemeMessage, startTestGateway } from '../support/gateway-harness';
import { alertRules, dashboardExpressions, isRecord, readRepoFile, repoRoot } from './repo-files';

/** The compose file's name for the gateway, replaced by the test gateway's loopback address. */
const COMPOSE_TARGET = 'gateway:8080';
/** Scrape and rule evaluation every second instead of 5 s: the same file, a faster test. */
const TEST_INTERVAL = '1s';

let gateway: RunningGateway | undefined;
let gatewayHttpPort = 0;
let peer: SchemePeer | undefined;
let prometheus: ChildProcess | undefined;
let prometheusLog = '';
let folder: string | undefined;
let prometheusUrl: string;
let traffic: NodeJS.Timeout | undefined;
let sent = 0;


/** config/prometheus/prometheus.yml as the compose stack mounts it, pointed at this test's gateway. */
function scrapeConfigFor(gatewayAddress: string): string {
  const config: unknown = parseYaml(readRepoFile('config/prometheus/prometheus.yml'));
  assert.ok(isRecord(config) && isRecord(config['global']) && Array.isArray(config['scrape_configs']));
  config['global']['scrape_interval'] = TEST_INTERVAL;
  config['global']['evaluation_interval'] = TEST_INTERVAL;
  // The compose file mounts config/alerts at /etc/prometheus/rules: the same files, from here.
  assert.deepEqual(config['rule_files'], ['/etc/prometheus/rules/*.rules.yml']);
  config['rule_files'] = [join(repoRoot(), 'config', 'alerts', '*.rules.yml')];
  let replaced = 0;
  for (const job of config['scrape_configs'] as unknown[]) {
    assert.ok(isRecord(job) && Array.isArray(job['static_configs']));
    for (const group of job['static_configs'] as unknown[]) {
      assert.ok(isRecord(group) && Array.isArray(group['targets']));
      group['targets'] = (group['targets'] as unknown[]).map((target) => {
        if (target !== COMPOSE_TARGET) return target;
        replaced++;
        return gatewayAddress;
      });
    }
  }
  assert.equal(replaced, 1, `the scrape config names ${COMPOSE_TARGET} once`);
  return stringifyYaml(config);
}

interface ApiAnswer { status: string; data: unknown; error?: string }

async function api(path: string): Promise<ApiAnswer> {
  const response = await fetch(`${prometheusUrl}${path}`);
  return (await response.json()) as ApiAnswer;
}

/** Polls `check` until it returns a value, or fails with what it last saw. */
async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error: unknown) {
      last = error;
    }
    if (Date.now() > deadline) {
      assert.fail(`${what} within ${timeoutMs} ms (last error: ${String(last)}); prometheus log:\n${prometheusLog.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A few authorisations every 200 ms, approvals and declines, so rates and quantiles have samples. */
function sendTraffic(): void {
  const live = peer;
  if (live === undefined || !live.isOpen) return;
  for (const card of [DEFAULT_CARDS[0]!, DEFAULT_CARDS[2]!, { pan: '5100000000000008', expiry: '3012' }]) {
    const message = schemeMessage({ pan: card.pan, expiry: card.expiry, amountMinor: 100 + (sent % 50) });
    live.request(message, 3000, () => undefined);
    sent++;
  }
}

before(async () => {
  const found = spawnSync('bash', [join(repoRoot(), 'scripts', 'check-alert-rules.sh'), '--prometheus-path'],
    { encoding: 'utf8', timeout: 300_000 });
  assert.equal(found.status, 0, `${found.stdout}\n${found.stderr}`);
  const binary = found.stdout.trim();

  // The configured budget (50 ms), not the harness's generous one: the rules and the dashboard
  // select the histogram's bucket at the budget (le="0.05"), which exists only with that budget.
  const defaultBudgetMs = loadConfig({ env: {} }).authorise.budgetMs;
  gateway = await startTestGateway({ configure: (config) => ({ ...config, authorise: { ...config.authorise, budgetMs: defaultBudgetMs } }) });
  gatewayHttpPort = gateway.httpPort;
  peer = await connectPeer(gateway);
  sendTraffic();
  traffic = setInterval(sendTraffic, 200);

  folder = mkdtempSync(join(tmpdir(), 'prometheus-scrape-'));
  const configPath = join(folder, 'prometheus.yml');
  writeFileSync(configPath, scrapeConfigFor(`127.0.0.1:${gateway.httpPort}`));
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(binary, [
    `--config.file=${configPath}`, `--storage.tsdb.path=${join(folder, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  prometheus.stdout?.on('data', (chunk: Buffer) => { prometheusLog += chunk.toString('utf8'); });
  prometheus.stderr?.on('data', (chunk: Buffer) => { prometheusLog += chunk.toString('utf8'); });
  await eventually('prometheus ready', 30_000, async () => ((await fetch(`${prometheusUrl}/-/ready`)).ok ? true : undefined));
});

/** Stops Prometheus: SIGTERM, then SIGKILL if it has not exited within 10 s. */
async function stopPrometheus(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// Should this test process itself be killed, Prometheus must not outlive it.
const killPrometheus = (): void => { prometheus?.kill('SIGKILL'); };
process.once('exit', killPrometheus);

after(async () => {
  if (traffic !== undefined) clearInterval(traffic);
  if (prometheus !== undefined) await stopPrometheus(prometheus);
  process.removeListener('exit', killPrometheus);
  await peer?.close();
  await gateway?.stop();
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
});

test('Prometheus scrapes the gateway with the repository scrape config, without error', async () => {
  const target = await eventually('the gateway target up', 30_000, async () => {
    const answer = await api('/api/v1/targets');
    assert.ok(isRecord(answer.data) && Array.isArray(answer.data['activeTargets']));
    const active = (answer.data['activeTargets'] as unknown[]).filter(isRecord);
    assert.equal(active.length, 1);
    return active[0]!['health'] === 'up' ? active[0]! : undefined;
  });
  assert.equal(target['lastError'], '');
  assert.ok(isRecord(target['labels']));
  assert.equal(target['labels']['job'], 'authorisation-gateway', 'the job name the GatewayDown rule selects');
  assert.equal(target['scrapeUrl'], `http://127.0.0.1:${gatewayHttpPort}/metrics`);
});

test('every alert rule loads and evaluates without error against the real /metrics', async () => {
  const expected = alertRules().map((rule) => rule.alert).sort();
  const rules = await eventually('every rule evaluated', 30_000, async () => {
    const answer = await api('/api/v1/rules?type=alert');
    assert.ok(isRecord(answer.data) && Array.isArray(answer.data['groups']));
    const loaded = (answer.data['groups'] as unknown[]).filter(isRecord)
      .flatMap((group) => (Array.isArray(group['rules']) ? group['rules'] as unknown[] : [])).filter(isRecord);
    const evaluated = loaded.every((rule) => typeof rule['lastEvaluation'] === 'string'
      && !String(rule['lastEvaluation']).startsWith('0001-'));
    return evaluated && loaded.length === expected.length ? loaded : undefined;
  });
  assert.deepEqual(rules.map((rule) => String(rule['name'])).sort(), expected);
  for (const rule of rules) {
    assert.equal(rule['health'], 'ok', `${String(rule['name'])}: ${String(rule['lastError'] ?? '')}`);
  }
});

test('the dashboard queries answer with data from a gateway under traffic', async (t) => {
  // Rates need two scrapes inside their window after traffic began.
  await eventually('a rate of authorisations', 30_000, async () => {
    const answer = await api(`/api/v1/query?query=${encodeURIComponent('sum(rate(gateway_authorisation_duration_seconds_count[1m])) > 0')}`);
    return isRecord(answer.data) && Array.isArray(answer.data['result']) && answer.data['result'].length > 0 ? true : undefined;
  });
  const empty: string[] = [];
  let withData = 0;
  for (const { panel, expr } of dashboardExpressions()) {
    const promql = expr.replace(/\$__rate_interval/g, '1m').replace(/\$instance/g, '.*').replace(/\$budget/g, '0.05');
    const answer = await api(`/api/v1/query?query=${encodeURIComponent(promql)}`);
    assert.equal(answer.status, 'success', `${panel}: ${promql}: ${answer.error ?? ''}`);
    assert.ok(isRecord(answer.data) && Array.isArray(answer.data['result']));
    const values = (answer.data['result'] as unknown[]).filter(isRecord)
      .map((series) => (Array.isArray(series['value']) ? Number(series['value'][1]) : Number.NaN));
    if (values.some((value) => Number.isFinite(value))) withData++;
    else empty.push(`${panel}: ${promql}`);
  }
  // Only the stack's own series (Cassandra write latency, group commit) are absent in embedded.
  const stackOnly = /gateway_decision_batched_records_total|gateway_store_write_duration_seconds/;
  t.diagnostic(`no data in embedded (stack-only series): ${empty.join(' | ')}`);
  assert.deepEqual(empty.filter((query) => !stackOnly.test(query)), [], 'every other panel query has a finite value');
  assert.ok(withData > 30, `${withData} queries with data`);
  assert.ok(sent > 0);
});

/** Names of the alerts pending or firing now. */
async function activeAlerts(): Promise<Array<{ name: string; state: string; labels: Record<string, unknown> }>> {
  const answer = await api('/api/v1/alerts');
  assert.ok(isRecord(answer.data) && Array.isArray(answer.data['alerts']));
  return (answer.data['alerts'] as unknown[]).filter(isRecord).map((alert) => {
    const labels = isRecord(alert['labels']) ? alert['labels'] : {};
    return { name: String(labels['alertname']), state: String(alert['state']), labels };
  });
}

test('the dashboard\'s instance picker finds this gateway (its label_values query, as Grafana asks it)', async () => {
  const dashboard: unknown = JSON.parse(readRepoFile('config/grafana/dashboards/authorisation-gateway.json'));
  assert.ok(isRecord(dashboard) && isRecord(dashboard['templating']) && Array.isArray(dashboard['templating']['list']));
  const variable = (dashboard['templating']['list'] as unknown[]).filter(isRecord).find((entry) => entry['name'] === 'instance');
  assert.ok(variable !== undefined && typeof variable['definition'] === 'string');
  const query = /^label_values\(([a-z_:]+), ([a-z_]+)\)$/.exec(variable['definition']);
  assert.ok(query !== null, `a label_values(metric, label) query: ${variable['definition']}`);
  const answer = await api(`/api/v1/label/${query[2]!}/values?match[]=${encodeURIComponent(query[1]!)}`);
  assert.equal(answer.status, 'success');
  assert.deepEqual(answer.data, [`127.0.0.1:${gatewayHttpPort}`]);
});

test('with the scheme peer gone, GatewayLinkNotSignedOn goes pending on the real series', async () => {
  // A budget miss on a loaded test machine may raise the budget alerts; the link and ownership
  // alerts must be quiet while the peer is signed on.
  const quiet = ['GatewayDown', 'GatewayLinkDown', 'GatewayLinkNotSignedOn', 'GatewayShardWithoutOwner'];
  assert.deepEqual((await activeAlerts()).filter((alert) => quiet.includes(alert.name)), []);

  // A server-mode link stays up (listening) without its peer: iso_link_up 1, iso_link_signed_on 0.
  const closing = peer;
  peer = undefined;
  await closing?.close();
  const alert = await eventually('GatewayLinkNotSignedOn pending', 30_000, async () =>
    (await activeAlerts()).find((candidate) => candidate.name === 'GatewayLinkNotSignedOn'));
  assert.equal(alert.state, 'pending', 'held for its `for:` duration before it fires');
  assert.equal(alert.labels['link'], 'scheme');
  assert.equal(alert.labels['job'], 'authorisation-gateway');
  assert.equal((await activeAlerts()).some((candidate) => candidate.name === 'GatewayLinkDown'), false,
    'the link still listens: not down');
});
