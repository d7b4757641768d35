import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';
import { validateLinkConfig } from '../../src/network-link';
import {
  ApprovingAcceptor, authorisation, connectPeer, dialSocket, metricValue, peerOn, serverLink, signOn, startTestLinks,
  testTlsFiles, waitFor,
} from './harness';

const files = testTlsFiles();
const trustOurCa = { ca: readFileSync(files.ca), servername: 'localhost' };

test('TLS server link: a client that trusts our CA completes sign-on and an authorisation', async () => {
  const links = await startTestLinks([serverLink({ tls: { certPath: files.serverCert, keyPath: files.serverKey } })],
    new ApprovingAcceptor());
  const peer = await connectPeer(links.port, { tls: trustOurCa });
  try {
    await signOn(peer);
    const response = await peer.requestOnce(authorisation(), 2000);
    assert.equal(response?.getString(39), '00');
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('TLS server link: a plain TCP client gets nothing decoded and is dropped at the handshake', async () => {
  const links = await startTestLinks([serverLink({ tls: { certPath: files.serverCert, keyPath: files.serverKey } })],
    new ApprovingAcceptor());
  const socket = await dialSocket(links.port);
  const peer = peerOn(socket);
  try {
    const response = await peer.requestOnce(authorisation(), 1000);
    assert.equal(response, undefined);
    await waitFor(() => !peer.isOpen, 3000, 'plain client dropped');
    assert.equal(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'tls_refused' }), 1);
  } finally {
    peer.destroy();
    await links.stop();
  }
});

const mutualTls = {
  certPath: files.serverCert, keyPath: files.serverKey, caPath: files.ca, requireClientCert: true,
};

test('mutual TLS: a client certificate signed by our CA is accepted', async () => {
  const links = await startTestLinks([serverLink({ tls: mutualTls })], new ApprovingAcceptor());
  const peer = await connectPeer(links.port, {
    tls: { ...trustOurCa, cert: readFileSync(files.clientCert), key: readFileSync(files.clientKey) },
  });
  try {
    await signOn(peer);
    assert.equal((await peer.requestOnce(authorisation(), 2000))?.getString(39), '00');
  } finally {
    peer.destroy();
    await links.stop();
  }
});

async function refusedPeer(port: number, tls: Record<string, unknown>): Promise<boolean> {
  // TLS 1.3 finishes the client side of the handshake before the server checks the certificate,
  // so refusal shows as an error or a close before any response, whichever comes first.
  try {
    const peer = await connectPeer(port, { tls });
    const response = await peer.requestOnce(authorisation(), 1500);
    peer.destroy();
    return response === undefined;
  } catch {
    return true;
  }
}

test('mutual TLS: a peer without a client certificate is refused', async () => {
  const links = await startTestLinks([serverLink({ tls: mutualTls, signOnRequired: false })], new ApprovingAcceptor());
  try {
    assert.equal(await refusedPeer(links.port, trustOurCa), true);
    await waitFor(() => links.supervisor.status('scheme')?.connections === 0, 2000, 'no session');
    assert.ok(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'tls_refused' }) >= 1);
  } finally {
    await links.stop();
  }
});

test('mutual TLS: a peer whose certificate comes from another CA is refused', async () => {
  const links = await startTestLinks([serverLink({ tls: mutualTls, signOnRequired: false })], new ApprovingAcceptor());
  try {
    const rogue = { ...trustOurCa, cert: readFileSync(files.rogueCert), key: readFileSync(files.rogueKey) };
    assert.equal(await refusedPeer(links.port, rogue), true);
    assert.ok(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'tls_refused' }) >= 1);
  } finally {
    await links.stop();
  }
});

test('client-mode link over mutual TLS: dials the scheme, presents its certificate and signs on', async () => {
  let presentedCertificate = false;
  const scheme = createServer({
    cert: readFileSync(files.serverCert), key: readFileSync(files.serverKey), ca: readFileSync(files.ca),
    requestCert: true, rejectUnauthorized: true,
  });
  const signedOn = new Promise<void>((resolve) => {
    scheme.on('secureConnection', (socket: TLSSocket) => {
      presentedCertificate = socket.authorized;
      const peer = peerOn(socket);
      void peer.whenGatewaySignedOn().then(resolve);
    });
  });
  await new Promise<void>((resolve) => scheme.listen(0, '127.0.0.1', resolve));
  const port = (scheme.address() as { port: number }).port;
  const links = await startTestLinks([{
    name: 'scheme', mode: 'client', port,
    tls: { caPath: files.ca, certPath: files.clientCert, keyPath: files.clientKey, serverName: 'localhost' },
  }], new ApprovingAcceptor());
  try {
    await signedOn;
    assert.equal(presentedCertificate, true);
    await waitFor(() => links.supervisor.isReady(), 2000, 'link ready after sign-on');
  } finally {
    await links.stop();
    scheme.close();
  }
});

test('client-mode TLS: certificates are read once, so a redial after the CA file is gone still signs on', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'link-tls-'));
  const caPath = join(folder, 'ca.pem');
  copyFileSync(files.ca, caPath);
  const scheme = createServer({ cert: readFileSync(files.serverCert), key: readFileSync(files.serverKey) });
  let signOns = 0;
  const sockets: TLSSocket[] = [];
  scheme.on('secureConnection', (socket: TLSSocket) => {
    sockets.push(socket);
    void peerOn(socket).whenGatewaySignedOn().then(() => { signOns += 1; });
  });
  await new Promise<void>((resolve) => scheme.listen(0, '127.0.0.1', resolve));
  const port = (scheme.address() as { port: number }).port;
  const links = await startTestLinks([{
    name: 'scheme', mode: 'client', port, reconnectInitialMs: 20, reconnectMaxMs: 100,
    tls: { caPath, serverName: 'localhost' },
  }], new ApprovingAcceptor());
  try {
    await waitFor(() => signOns === 1, 3000, 'first sign-on');
    // The file is rotated away (or half-written) while the link is down: the redial must neither
    // crash the process nor need the file again.
    rmSync(caPath);
    for (const socket of sockets) socket.destroy();
    await waitFor(() => signOns === 2, 3000, 'signed on again after the redial');
  } finally {
    await links.stop();
    scheme.close();
    rmSync(folder, { recursive: true, force: true });
  }
});

test('client-mode TLS: a client certificate file that does not parse stops start-up, naming the link', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'link-tls-'));
  const certPath = join(folder, 'client.pem');
  writeFileSync(certPath, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  try {
    await assert.rejects(startTestLinks([{ name: 'scheme', mode: 'client', port: 9,
      tls: { caPath: files.ca, certPath, keyPath: files.clientKey } }], new ApprovingAcceptor()), /link scheme\.tls/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('TLS config is checked: a server link needs a certificate, mTLS needs a CA, unreadable files name their key', async () => {
  assert.throws(() => validateLinkConfig({ name: 'x', tls: {} }), /tls.certPath/);
  assert.throws(() => validateLinkConfig({ name: 'x', tls: { certPath: 'a', keyPath: 'b', requireClientCert: true } }), /tls.caPath/);
  assert.throws(() => validateLinkConfig({ name: 'x', mode: 'client', tls: { requireClientCert: true, caPath: 'c' } }),
    /requireClientCert/);
  await assert.rejects(startTestLinks([serverLink({ tls: { certPath: '/nonexistent.pem', keyPath: files.serverKey } })],
    new ApprovingAcceptor()), /certPath/);
});
