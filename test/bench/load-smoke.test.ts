/**
 * The load benchmark end to end in its smoke mode (what CI can afford): a real gateway process per
 * rate, the open-loop generator over the link, autocannon on the HTTP side, the results file, the
 * chart and the regenerated benchmarks.md. No speed is asserted; correctness is: every request is
 * answered, and with the response code the demo seed should give.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOAD_LINE_KEYS } from '../../bench/load/results';
import { isRecord, repoRoot } from '../alerts/repo-files';

test('npm run bench -- --smoke prints one line per rate, answers every request as the seed says, and writes results, chart and report', () => {
  const root = repoRoot();
  const outDir = mkdtempSync(join(tmpdir(), 'bench-smoke-test-'));
  try {
    const run = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'load.js'), '--smoke', '--results-dir', outDir, '--docs-dir', outDir],
      { cwd: root, encoding: 'utf8', timeout: 100_000 });
    assert.equal(run.status, 0, `exit ${run.status}\n${run.stderr}`);

    const lines = run.stdout.trim().split('\n').map((text) => JSON.parse(text) as unknown);
    assert.equal(lines.length, 2, 'one JSON line per smoke rate on stdout, nothing else');
    const seenCodes = new Set<string>();
    for (const [index, line] of lines.entries()) {
      assert.ok(isRecord(line));
      assert.deepEqual(Object.keys(line), [...LOAD_LINE_KEYS]);
      assert.equal(line['profile'], 'embedded');
      assert.equal(line['offeredPerSec'], [200, 400][index]);
      assert.ok(Number(line['achievedPerSec']) > 0);
      assert.equal(line['errors'], 0, 'every measured request answered');
      const [p50, p99, p999, max] = [line['p50Ms'], line['p99Ms'], line['p999Ms'], line['maxMs']].map(Number);
      assert.ok(p50! > 0 && p50! <= p99! && p99! <= p999! && p999! <= max!, `percentiles in order: ${p50} ${p99} ${p999} ${max}`);
      assert.ok(isRecord(line['byResponseCode']));
      for (const code of Object.keys(line['byResponseCode'])) seenCodes.add(code);
    }
    // The mix reaches every answer the demo seed can give.
    for (const code of ['00', '14', '41', '43', '51', '54', '57', '62']) assert.ok(seenCodes.has(code), `DE 39 ${code} seen`);

    const results: unknown = JSON.parse(readFileSync(join(outDir, 'load-embedded.json'), 'utf8'));
    assert.ok(isRecord(results) && results['kind'] === 'load-ladder' && results['smoke'] === true);
    assert.ok(Array.isArray(results['steps']) && results['steps'].length === 2);
    for (const step of results['steps'] as unknown[]) {
      assert.ok(isRecord(step) && isRecord(step['details']) && isRecord(step['details']['unexpected']));
      // The gateway's own figures cover the measured window, not the warm-up before it: the answers
      // its histogram counted between the two scrapes are about the requests measured (the warm-up
      // alone is a third as many again).
      const measured = Number(step['details']['measuredRequests']);
      const gatewayAnswered = Number(step['details']['gatewayAnswered']);
      assert.ok(Math.abs(gatewayAnswered - measured) <= measured * 0.15, `gateway counted ${gatewayAnswered}, measured ${measured}`);
      // The decision log's batch writes, timed in its writer thread, over the same window.
      const writes = Number(step['details']['decisionLogWrites']);
      const writeP99 = Number(step['details']['decisionLogWriteP99Ms']);
      assert.ok(writes > 0 && writes <= gatewayAnswered, `${writes} batch writes for ${gatewayAnswered} answers`);
      assert.ok(writeP99 > 0 && writeP99 < 1000, `decision log write p99 ${writeP99} ms`);
      // Only a stand-in (91) under a busy machine may differ from the seed's answer.
      const wrong = Object.keys(step['details']['unexpected']).filter((key) => !key.endsWith('>91'));
      assert.deepEqual(wrong, [], 'answers that contradict the demo seed');
    }

    const http: unknown = JSON.parse(readFileSync(join(outDir, 'http-embedded.json'), 'utf8'));
    assert.ok(isRecord(http) && Array.isArray(http['authorise']) && isRecord(http['metricsUnderLoad']));
    const authorise = http['authorise'][0] as unknown;
    assert.ok(isRecord(authorise) && Number(authorise['requests']) > 0 && authorise['non2xx'] === 0, 'POST /v1/authorise answered 200');
    const scrape = http['metricsUnderLoad'];
    assert.ok(isRecord(scrape['metrics']) && Number(scrape['metrics']['requests']) > 0 && scrape['metrics']['non2xx'] === 0);

    const chart = readFileSync(join(outDir, 'benchmarks-load-embedded.svg'), 'utf8');
    assert.match(chart, /^<svg /);
    assert.match(chart, /data-series="p99"/);
    assert.match(chart, /data-reference="budget"/);
    const report = readFileSync(join(outDir, 'benchmarks.md'), 'utf8');
    assert.match(report, /## ISO 8583 load, embedded profile/);
    assert.match(report, /decision log disk write p99 ms \(batches\)/);
    assert.match(report, /\*\*Smoke run\*\*/);
    assert.match(report, /^\| 200 \| \d+ \|/m);
    assert.match(report, /POST \/v1\/authorise/);
    assert.ok(existsSync(join(outDir, 'benchmarks-load-embedded.svg')));
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});

test('npm run bench:stack stops with a message naming what the stack needs when its gateway cannot start', () => {
  const root = repoRoot();
  const outDir = mkdtempSync(join(tmpdir(), 'bench-stack-test-'));
  try {
    // Nothing listens on these ports, so the stack gateway cannot start whatever is assembled.
    const run = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'load.js'), '--profile', 'stack', '--smoke',
      '--start-timeout-seconds', '10', '--results-dir', outDir, '--docs-dir', outDir], {
      cwd: root, encoding: 'utf8', timeout: 100_000,
      env: { ...process.env, GATEWAY_REDIS_URL: 'redis://127.0.0.1:1', GATEWAY_ETCD_ENDPOINTS: 'http://127.0.0.1:1',
        GATEWAY_CASSANDRA_CONTACT_POINTS: '127.0.0.1:1' },
    });
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stdout, '', 'no result line for a run that did not happen');
    assert.match(run.stderr, /the gateway \(profile stack\)/);
    assert.match(run.stderr, /npm run services:up/);
    assert.ok(!existsSync(join(outDir, 'load-stack.json')), 'no results file');
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});
