import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { dashboardExpressions, isRecord, readRepoFile, repoRoot } from './repo-files';

/** Grafana's variables replaced by values a plain PromQL parser accepts. */
function asPlainPromql(expr: string): string {
  return expr.replace(/\$__rate_interval/g, '1m').replace(/\$instance/g, '.*').replace(/\$budget/g, '0.05');
}

test('every dashboard query is valid PromQL (checked by promtool as recording rules)', () => {
  const expressions = dashboardExpressions();
  assert.ok(expressions.length > 20);
  const folder = mkdtempSync(join(tmpdir(), 'dashboard-promql-'));
  try {
    const rulesPath = join(folder, 'dashboard.rules.json');
    writeFileSync(rulesPath, JSON.stringify({
      groups: [{ name: 'dashboard', rules: expressions.map((entry, index) => ({ record: `dashboard:query_${index}`, expr: asPlainPromql(entry.expr) })) }],
    }));
    // Through the check script, which installs promtool when it is missing.
    const run = spawnSync('bash', [join(repoRoot(), 'scripts', 'check-alert-rules.sh'), '--check', rulesPath],
      { encoding: 'utf8', timeout: 300_000 });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, new RegExp(`SUCCESS: ${expressions.length} rules found`));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('the dashboard has the panels the issue asks for', () => {
  const dashboard: unknown = JSON.parse(readRepoFile('config/grafana/dashboards/authorisation-gateway.json'));
  assert.ok(isRecord(dashboard) && Array.isArray(dashboard['panels']));
  const panels = (dashboard['panels'] as unknown[]).filter(isRecord);
  const expressions = dashboardExpressions();
  const heatmap = panels.find((panel) => panel['type'] === 'heatmap');
  assert.ok(heatmap !== undefined, 'a latency heatmap');
  const percentiles = expressions.filter((entry) => /Authorisation latency: p50, p99, p99.9/.test(entry.panel));
  for (const quantile of ['0.5', '0.99', '0.999']) {
    assert.ok(percentiles.some((entry) => entry.expr.startsWith(`histogram_quantile(${quantile},`)), `p${quantile} on the latency panel`);
  }
  assert.ok(percentiles.some((entry) => entry.expr === 'vector($budget)'), 'the budget as a line on the latency panel');
  assert.ok(expressions.some((entry) => /sum by \(outcome\)/.test(entry.expr)), 'throughput by outcome');
  assert.ok(expressions.some((entry) => /sum by \(response_code\)/.test(entry.expr)), 'responses by DE 39');
  assert.ok(expressions.some((entry) => /iso_link_up/.test(entry.expr)) && expressions.some((entry) => /iso_link_signed_on/.test(entry.expr)),
    'link up and signed on');
  assert.ok(expressions.some((entry) => /gateway_stage_duration_seconds/.test(entry.expr) && /by \(stage/.test(entry.expr)), 'stage breakdown');
});

test('the dashboard budget constant is the budget the alert rules use', () => {
  const dashboard: unknown = JSON.parse(readRepoFile('config/grafana/dashboards/authorisation-gateway.json'));
  assert.ok(isRecord(dashboard) && isRecord(dashboard['templating']) && Array.isArray(dashboard['templating']['list']));
  const budget = (dashboard['templating']['list'] as unknown[]).filter(isRecord).find((variable) => variable['name'] === 'budget');
  assert.equal(budget?.['query'], '0.05');
  assert.match(readRepoFile('config/alerts/gateway.rules.yml'), /le="0\.05"/);
});

test('Grafana provisioning loads the dashboard folder and a Prometheus data source the dashboard can select', () => {
  const datasources: unknown = parseYaml(readRepoFile('config/grafana/provisioning/datasources/prometheus.yml'));
  assert.ok(isRecord(datasources) && Array.isArray(datasources['datasources']));
  const prometheus = (datasources['datasources'] as unknown[]).filter(isRecord).find((source) => source['type'] === 'prometheus');
  assert.equal(prometheus?.['url'], 'http://prometheus:9090');
  const dashboard: unknown = JSON.parse(readRepoFile('config/grafana/dashboards/authorisation-gateway.json'));
  assert.ok(isRecord(dashboard) && isRecord(dashboard['templating']) && Array.isArray(dashboard['templating']['list']));
  const variable = (dashboard['templating']['list'] as unknown[]).filter(isRecord).find((entry) => entry['name'] === 'datasource');
  assert.ok(isRecord(variable?.['current']));
  assert.equal(variable['current']['value'], prometheus['uid']);
  const providers: unknown = parseYaml(readRepoFile('config/grafana/provisioning/dashboards/authorisation-gateway.yml'));
  assert.ok(isRecord(providers) && Array.isArray(providers['providers']));
  const provider = (providers['providers'] as unknown[]).filter(isRecord)[0];
  assert.ok(isRecord(provider?.['options']));
  assert.equal(provider['options']['path'], '/var/lib/grafana/dashboards');
});
