import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import pino from 'pino';
import {
  LinkConfigError, linkConfigDefaults, startLinks, validateLinkConfig, validateLinkConfigs,
} from '../../src/network-link';
import {
  ApprovingAcceptor, authorisation, connectPeer, LogCapture, metricValue, serverLink, signOn, startTestLinks,
} from './harness';

test('a minimal entry gets every default', () => {
  const config = validateLinkConfig({ name: 'scheme' });
  assert.equal(config.mode, 'server');
  assert.equal(config.port, 8583);
  assert.equal(config.framing, 'binary2');
  assert.equal(config.dialect, 'ascii');
  assert.equal(config.inflightMax, linkConfigDefaults.inflightMax);
  assert.deepEqual(config.matchKey, ['mti', '11', '41']);
  assert.equal(config.tls, null);
});

const badEntries: Array<[string, Record<string, unknown>, string]> = [
  ['unknown key', { name: 's', inflightLimit: 3 }, 'links[0].inflightLimit'],
  ['missing name', {}, 'links[0].name'],
  ['bad mode', { name: 's', mode: 'both' }, 'links[0].mode'],
  ['bad framing', { name: 's', framing: 'hex4' }, 'links[0].framing'],
  ['frame limit above what bcd2 can express', { name: 's', framing: 'bcd2', frameBytesMax: 10_000 }, 'links[0].frameBytesMax'],
  ['zero in-flight limit', { name: 's', inflightMax: 0 }, 'links[0].inflightMax'],
  ['header template of the wrong size', { name: 's', headerBytes: 2, headerTemplateHex: 'aa' }, 'links[0].headerTemplateHex'],
  ['reconnect max below initial', { name: 's', reconnectInitialMs: 1000, reconnectMaxMs: 10 }, 'links[0].reconnectMaxMs'],
  ['jitter above 1', { name: 's', reconnectJitterRatio: 2 }, 'links[0].reconnectJitterRatio'],
  ['bad match key part', { name: 's', matchKey: ['mti', 'stan'] }, 'links[0].matchKey[1]'],
  ['client port 0', { name: 's', mode: 'client', port: 0 }, 'links[0].port'],
  ['bad network field number', { name: 's', networkManagementFields: { 200: 'x' } }, 'links[0].networkManagementFields.200'],
  ['unknown TLS key', { name: 's', tls: { cert: 'x' } }, 'links[0].tls.cert'],
];

for (const [what, entry, key] of badEntries) {
  test(`validator names the key for ${what}: ${key}`, () => {
    assert.throws(() => validateLinkConfigs([entry]), (error: unknown) => {
      assert.ok(error instanceof LinkConfigError);
      assert.equal(error.key, key);
      return true;
    });
  });
}

test('two links may not share a name or a listening address', () => {
  assert.throws(() => validateLinkConfigs([{ name: 'a' }, { name: 'a', port: 9000 }]), /links\[1\]\.name/);
  assert.throws(() => validateLinkConfigs([{ name: 'a' }, { name: 'b' }]), /links\[1\]\.port/);
});

test('several links at once, each with its own framing', async () => {
  const log = new LogCapture();
  const registry = new Registry();
  const configs = validateLinkConfigs([
    { name: 'visa', port: 0, framing: 'vml4' },
    { name: 'mastercard', port: 0, framing: 'binary2' },
  ]);
  const supervisor = await startLinks(configs, { handler: new ApprovingAcceptor(), registry, logger: pino(log) });
  try {
    assert.equal(supervisor.isReady(), true);
    for (const [name, framing] of [['visa', 'vml4'], ['mastercard', 'binary2']] as const) {
      const peer = await connectPeer(supervisor.status(name)!.listening!.port, { framing });
      await signOn(peer);
      assert.equal((await peer.requestOnce(authorisation(), 2000))?.getString(39), '00');
      peer.destroy();
      assert.equal(await metricValue(registry, 'iso_link_requests_total', { link: name }), 1);
    }
  } finally {
    await supervisor.drain(500);
  }
});

test('start-up fails on an unknown dialect or a port in use, naming the cause', async () => {
  const registry = new Registry();
  const deps = { handler: new ApprovingAcceptor(), registry, logger: pino({ level: 'silent' }) };
  await assert.rejects(startLinks(validateLinkConfigs([{ name: 'x', port: 0, dialect: 'nope' }]), deps), /nope/);
  const first = await startTestLinks([serverLink()], new ApprovingAcceptor());
  try {
    await assert.rejects(startLinks(validateLinkConfigs([{ name: 'y', port: first.port }]), deps), /EADDRINUSE/);
  } finally {
    await first.stop();
  }
});

test('metrics: per-link frames, bytes and requests are exported, and no PAN reaches logs or metrics', async () => {
  const links = await startTestLinks([serverLink()], new ApprovingAcceptor());
  const peer = await connectPeer(links.port);
  try {
    await signOn(peer);
    for (let index = 0; index < 3; index++) await peer.requestOnce(authorisation(100, '5555555555554444'), 2000);
    // An unsolicited response with a PAN makes the link log it: masked.
    const unsolicited = authorisation(100, '5555555555554444').set(39, '00');
    unsolicited.mti = '0110';
    peer.send(unsolicited);
    await signOn(peer);
    assert.equal(await metricValue(links.registry, 'iso_link_requests_total', { link: 'scheme' }), 3);
    assert.equal(await metricValue(links.registry, 'iso_link_frames_total', { link: 'scheme', direction: 'in' }), 6);
    assert.equal(await metricValue(links.registry, 'iso_link_frames_total', { link: 'scheme', direction: 'out' }), 5);
    assert.ok(await metricValue(links.registry, 'iso_link_bytes_total', { link: 'scheme', direction: 'in' }) > 300);
    assert.equal(await metricValue(links.registry, 'iso_link_connections', { link: 'scheme' }), 1);
    assert.equal(await metricValue(links.registry, 'iso_link_signed_on', { link: 'scheme' }), 1);
    const exposition = await links.registry.metrics();
    assert.doesNotMatch(exposition, /5555555555554444/);
    assert.match(links.log.text(), /555555\*{6}4444/, 'the unmatched response was logged, masked');
    assert.doesNotMatch(links.log.text(), /5555555555554444/);
  } finally {
    peer.destroy();
    await links.stop();
  }
});
