import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { alertRules, headingAnchor, isRecord, readRepoFile, repoRoot } from './repo-files';

test('promtool check rules and promtool test rules pass on config/alerts', () => {
  const run = spawnSync('bash', [join(repoRoot(), 'scripts', 'check-alert-rules.sh')], { encoding: 'utf8', timeout: 300_000 });
  const output = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, output);
  assert.match(output, /SUCCESS: \d+ rules found/);
  assert.match(output, /Unit Testing:.*\n\s+SUCCESS/);
});

test('every alert links to a section of docs/operations.md that exists', () => {
  const anchors = new Set(readRepoFile('docs/operations.md').split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => headingAnchor(line.replace(/^#+ /, ''))));
  const rules = alertRules();
  assert.ok(rules.length >= 10, `expected the issue's alerts, found ${rules.length}`);
  for (const rule of rules) {
    const url = rule.annotations['runbook_url'];
    assert.equal(typeof url, 'string', `${rule.alert} has no runbook_url`);
    const match = /^docs\/operations\.md#(.+)$/.exec(url as string);
    assert.ok(match !== null, `${rule.alert}: runbook_url ${String(url)} is not docs/operations.md#section`);
    assert.ok(anchors.has(match[1]!), `${rule.alert}: docs/operations.md has no heading for #${match[1]}`);
  }
});

test('every alert has a severity, a summary and a description', () => {
  for (const rule of alertRules()) {
    assert.ok(['page', 'warning'].includes(String(rule.labels['severity'])), `${rule.alert}: severity is page or warning`);
    assert.equal(typeof rule.annotations['summary'], 'string', `${rule.alert}: summary`);
    assert.equal(typeof rule.annotations['description'], 'string', `${rule.alert}: description`);
  }
});

test('every alert is exercised by a promtool unit test', () => {
  const tests: unknown = parseYaml(readRepoFile('config/alerts/gateway.rules.test.yml'));
  assert.ok(isRecord(tests) && Array.isArray(tests['tests']));
  const tested = new Set<string>();
  for (const group of tests['tests'] as unknown[]) {
    if (!isRecord(group) || !Array.isArray(group['alert_rule_test'])) continue;
    for (const check of group['alert_rule_test'] as unknown[]) {
      // Only a test that expects the alert to fire proves the rule can fire.
      if (isRecord(check) && Array.isArray(check['exp_alerts']) && check['exp_alerts'].length > 0) tested.add(String(check['alertname']));
    }
  }
  const untested = alertRules().map((rule) => rule.alert).filter((alert) => !tested.has(alert));
  assert.deepEqual(untested, [], 'alerts with no unit test that shows them firing');
});
