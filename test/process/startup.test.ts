import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const mainScript = join(__dirname, '..', '..', 'src', 'main.js');

function runMain(env: Record<string, string>) {
  return spawnSync(process.execPath, [mainScript], {
    env: { ...process.env, GATEWAY_HTTP_PORT: '0', GATEWAY_LINK_PORT: '0', ...env },
    encoding: 'utf8',
    timeout: 15000,
  });
}

test('start-up refuses to run on the uWebSockets.js JS fallback', () => {
  const result = runMain({ UWS_USE_FALLBACK: '1' });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /native uWebSockets\.js binding/);
});

test('start-up stops on a bad environment value and names the variable', () => {
  const result = runMain({ GATEWAY_HTTP_PORT: 'eighty' });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /GATEWAY_HTTP_PORT: "eighty" is not a TCP port/);
});
