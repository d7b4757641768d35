import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { FastHistogram } from '../../src/metrics/fast-histogram';

test('the fast histogram exposes exactly what prom-client\'s Histogram would for the same observations', async () => {
  const buckets = [0.001, 0.005, 0.01, 0.05, 0.1];
  const expected = new Registry();
  const reference = new Histogram({ name: 'latency_seconds', help: 'h', labelNames: ['stage', 'outcome'], buckets,
    registers: [expected] });
  const actual = new Registry();
  const fast = new FastHistogram('latency_seconds', 'h', ['stage', 'outcome'], buckets, actual);
  const pairs: [string, string][] = [['decode', 'ok'], ['persist', 'late']];
  const children = pairs.map(([stage, outcome]) => fast.child(stage, outcome));
  const values = [0, 0.0005, 0.001, 0.003, 0.05, 0.07, 0.2, 9];
  pairs.forEach(([stage, outcome], i) => {
    for (const value of values) {
      reference.labels(stage, outcome).observe(value * (i + 1));
      children[i]!.observe(value * (i + 1));
    }
  });
  assert.equal(await actual.metrics(), await expected.metrics());
});

test('reset empties every child', async () => {
  const registry = new Registry();
  const fast = new FastHistogram('h_seconds', 'h', ['stage'], [1], registry);
  fast.child('x').observe(0.5);
  registry.resetMetrics();
  assert.match(await registry.metrics(), /^h_seconds_count\{stage="x"\} 0$/m);
});
