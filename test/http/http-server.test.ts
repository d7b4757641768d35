import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway } from '../support/gateway-harness';

const startOnFreePorts = () => startTestGateway();

test('GET /healthz answers 200 on the native uWebSockets.js HTTP side', async () => {
  const gateway = await startOnFreePorts();
  try {
    const response = await fetch(`http://127.0.0.1:${gateway.httpPort}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  } finally {
    await gateway.stop();
  }
});

test('GET /metrics serves prom-client default metrics and the gateway gauge', async () => {
  const gateway = await startOnFreePorts();
  try {
    const response = await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^gateway_up 1$/m);
  } finally {
    await gateway.stop();
  }
});

test('GET /readyz answers 503 naming the failing check, and 200 once it passes', async () => {
  const gateway = await startOnFreePorts();
  try {
    let storeReady = false;
    gateway.readiness.register('testStore', () => storeReady);
    const notReady = await fetch(`http://127.0.0.1:${gateway.httpPort}/readyz`);
    assert.equal(notReady.status, 503);
    assert.equal(((await notReady.json()) as { checks: Record<string, boolean> }).checks['testStore'], false);
    storeReady = true;
    const ready = await fetch(`http://127.0.0.1:${gateway.httpPort}/readyz`);
    assert.equal(ready.status, 200);
  } finally {
    await gateway.stop();
  }
});

test('an unknown path answers 404', async () => {
  const gateway = await startOnFreePorts();
  try {
    const response = await fetch(`http://127.0.0.1:${gateway.httpPort}/nowhere`);
    assert.equal(response.status, 404);
  } finally {
    await gateway.stop();
  }
});
