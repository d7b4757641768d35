/**
 * Reading the repository's own files from a test (the alert rules, the dashboard, the runbook),
 * wherever the compiled test runs from.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** The folder holding package.json, found upwards from this file (test/ or dist/test/). */
export function repoRoot(): string {
  let folder = __dirname;
  while (!existsSync(join(folder, 'package.json')) || !existsSync(join(folder, 'config'))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`no repository root above ${__dirname}`);
    folder = parent;
  }
  return folder;
}

export function readRepoFile(path: string): string {
  return readFileSync(join(repoRoot(), path), 'utf8');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface AlertRule {
  alert: string;
  expr: string;
  labels: Record<string, unknown>;
  annotations: Record<string, unknown>;
}

/** Every alerting rule of config/alerts/gateway.rules.yml. */
export function alertRules(): AlertRule[] {
  const document: unknown = parseYaml(readRepoFile('config/alerts/gateway.rules.yml'));
  if (!isRecord(document) || !Array.isArray(document['groups'])) throw new Error('rules file has no groups');
  const rules: AlertRule[] = [];
  for (const group of document['groups'] as unknown[]) {
    if (!isRecord(group) || !Array.isArray(group['rules'])) throw new Error('a rule group has no rules');
    for (const rule of group['rules'] as unknown[]) {
      if (!isRecord(rule) || typeof rule['alert'] !== 'string' || typeof rule['expr'] !== 'string') continue;
      rules.push({
        alert: rule['alert'], expr: rule['expr'],
        labels: isRecord(rule['labels']) ? rule['labels'] : {},
        annotations: isRecord(rule['annotations']) ? rule['annotations'] : {},
      });
    }
  }
  return rules;
}

/** Every PromQL expression of the Grafana dashboard, with the panel it belongs to. */
export function dashboardExpressions(): Array<{ panel: string; expr: string }> {
  const dashboard: unknown = JSON.parse(readRepoFile('config/grafana/dashboards/authorisation-gateway.json'));
  if (!isRecord(dashboard) || !Array.isArray(dashboard['panels'])) throw new Error('dashboard has no panels');
  const found: Array<{ panel: string; expr: string }> = [];
  for (const panel of dashboard['panels'] as unknown[]) {
    if (!isRecord(panel) || !Array.isArray(panel['targets'])) continue;
    for (const target of panel['targets'] as unknown[]) {
      if (isRecord(target) && typeof target['expr'] === 'string') found.push({ panel: String(panel['title']), expr: target['expr'] });
    }
  }
  return found;
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}
