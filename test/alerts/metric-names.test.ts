import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestGateway } from '../support/gateway-harness';
import { alertRules, dashboardExpressions, repoRoot } from './repo-files';

/**
 * Metrics only the stack backend registers (src/metrics/store-metrics.ts), so the embedded gateway
 * this test starts does not export them, with the type the alerts and panels assume.
 */
const STACK_ONLY: Readonly<Record<string, string>> = {
  gateway_shards_without_owner: 'gauge',
  gateway_decision_journal_backlog: 'gauge',
  gateway_store_write_duration_seconds: 'histogram',
  gateway_store_client_up: 'gauge',
  gateway_decision_batches_total: 'counter',
  gateway_decision_batched_records_total: 'counter',
};

/** Metric names declared anywhere in src/ (`name: '...'`), with the prom-client class they use. */
function declaredInSource(): Map<string, string> {
  const declared = new Map<string, string>();
  const visit = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.ts')) {
        for (const match of readFileSync(path, 'utf8').matchAll(/new (Gauge|Counter|Histogram)\(\{\s*name: '([a-z_]+)'/g)) {
          declared.set(match[2]!, match[1]!.toLowerCase());
        }
      }
    }
  };
  visit(join(repoRoot(), 'src'));
  return declared;
}

const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

/** Metric names a PromQL expression reads (ours, the link's and prom-client's process metrics). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:gateway|iso_link|nodejs|process)_[a-z0-9_]+)\b/g)].map((match) => match[1]!);
}

/** Family name and type of every metric in /metrics text, from its # TYPE lines. */
function exportedFamilies(metricsText: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const match of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(match[1]!, match[2]!);
  return families;
}

function familyOf(name: string, families: Map<string, string>): string {
  if (families.has(name)) return name;
  const base = name.replace(HISTOGRAM_SUFFIX, '');
  if (base !== name && (families.get(base) === 'histogram' || STACK_ONLY[base] === 'histogram')) return base;
  return name;
}

test('every metric the alerts and the dashboard read is exported by the gateway, or agreed and typed as they expect', async () => {
  const gateway = await startTestGateway();
  let metricsText: string;
  try {
    const response = await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`);
    metricsText = await response.text();
  } finally {
    await gateway.stop();
  }
  const families = exportedFamilies(metricsText);
  assert.ok(families.has('gateway_authorisation_duration_seconds'), 'the gateway exports its latency histogram');
  const used = new Map<string, string>();
  for (const rule of alertRules()) for (const name of metricNames(rule.expr)) used.set(name, `alert ${rule.alert}`);
  for (const entry of dashboardExpressions()) for (const name of metricNames(entry.expr)) used.set(name, `panel "${entry.panel}"`);
  const unknown: string[] = [];
  for (const [name, where] of used) {
    const family = familyOf(name, families);
    const exportedType = families.get(family);
    const stackType = STACK_ONLY[family];
    if (exportedType === undefined && stackType === undefined) unknown.push(`${name} (${where})`);
    if (exportedType !== undefined && stackType !== undefined) assert.equal(exportedType, stackType, `${family} type`);
    if (family !== name) assert.equal(exportedType ?? stackType, 'histogram', `${name} reads a histogram series`);
  }
  assert.deepEqual(unknown, [], 'metrics read by alerts or panels that nobody exports');
  // The stack-only ones must at least be declared, with the type the queries assume.
  const declared = declaredInSource();
  for (const [name, type] of Object.entries(STACK_ONLY)) {
    assert.equal(declared.get(name), type, `${name} declared in src/ as a ${type}`);
  }
});
