import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { decode, encode, Iso8583DecodeError, IsoMessage } from '../../src/iso8583';
import { FrameAssembler } from '../../src/network-link/frame-assembler';
import { framingFor } from '../../src/network-link/framing';
import { reconnectDelayMs, validateLinkConfig } from '../../src/network-link';
import { SchemePeer } from '../../src/simulator/scheme-peer';
import {
  ApprovingAcceptor, authorisation, delay, dialect, metricValue, peerOn, startTestLinks, waitFor,
} from './harness';

/** A scheme whose answers to our 0800s the test controls. */
interface SchemeBehaviour {
  signOnResponseCode: string;
  /** null: echoes are never answered. */
  echoDelayMs: number | null;
}

class ScriptedScheme {
  readonly server: Server;
  readonly codesSeen: string[] = [];
  connections = 0;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly behaviour: SchemeBehaviour) {
    this.server = createServer((socket) => this.onConnection(socket));
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as { port: number }).port)));
  }

  close(): void {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
  }

  private onConnection(socket: Socket): void {
    this.connections += 1;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const framing = framingFor('binary2');
    const assembler = new FrameAssembler(framing, 8192);
    socket.on('data', (chunk: Buffer) => {
      assembler.append(chunk);
      for (let frame = assembler.nextFrame(); frame !== undefined; frame = assembler.nextFrame()) {
        const request = decode(dialect, frame);
        if (request instanceof Iso8583DecodeError || request.mti !== '0800') continue;
        const code = request.getString(70)!;
        this.codesSeen.push(code);
        const response = new IsoMessage('0810').set(7, request.getString(7)!).set(11, request.getString(11)!).set(70, code);
        if (code === '001') {
          this.write(socket, response.set(39, this.behaviour.signOnResponseCode));
        } else if (code === '301' && this.behaviour.echoDelayMs !== null) {
          setTimeout(() => this.write(socket, response.set(39, '00')), this.behaviour.echoDelayMs);
        } else if (code !== '301') {
          this.write(socket, response.set(39, '00'));
        }
      }
    });
  }

  private write(socket: Socket, message: IsoMessage): void {
    const body = encode(dialect, message);
    const frame = Buffer.alloc(2 + body.length);
    frame.writeUInt16BE(body.length, 0);
    body.copy(frame, 2);
    if (!socket.destroyed) socket.write(frame);
  }
}

function clientLink(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'scheme', mode: 'client', port, reconnectInitialMs: 50, reconnectMaxMs: 400, ...extra };
}

test('reconnect delay doubles from the initial delay up to the maximum, and jitter only shortens it', () => {
  const config = validateLinkConfig({ name: 'x', mode: 'client', reconnectInitialMs: 100, reconnectMaxMs: 1000, reconnectJitterRatio: 0.5 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((failures) => reconnectDelayMs(failures, config, () => 0)), [100, 200, 400, 800, 1000, 1000]);
  assert.deepEqual([1, 2, 3].map((failures) => reconnectDelayMs(failures, config, () => 0.999999)), [50, 100, 200]);
  assert.equal(reconnectDelayMs(10_000, config, () => 0), 1000, 'no overflow on a long outage');
});

test('client mode: dials the scheme, signs on, becomes ready and serves the scheme\'s requests', async () => {
  let schemePeer: SchemePeer | undefined;
  const scheme = createServer((socket) => {
    schemePeer = peerOn(socket);
  });
  await new Promise<void>((resolve) => scheme.listen(0, '127.0.0.1', resolve));
  const port = (scheme.address() as { port: number }).port;
  const acceptor = new ApprovingAcceptor();
  const links = await startTestLinks([clientLink(port)], acceptor);
  try {
    await waitFor(() => links.supervisor.isReady(), 3000, 'signed on');
    assert.equal(schemePeer!.counts.networkRequestsAnswered['001'], 1);
    assert.equal(links.supervisor.status('scheme')?.state, 'signed_on');
    const response = await schemePeer!.requestOnce(authorisation(), 2000);
    assert.equal(response?.getString(39), '00');
    assert.equal(acceptor.handled, 1);
    assert.equal(await metricValue(links.registry, 'iso_link_up', { link: 'scheme' }), 1);
    assert.equal(await metricValue(links.registry, 'iso_link_signed_on', { link: 'scheme' }), 1);
  } finally {
    await links.stop();
    schemePeer?.destroy();
    scheme.close();
  }
});

test('client mode: an idle link sends echoes, and answered echoes keep it up', async () => {
  const scheme = new ScriptedScheme({ signOnResponseCode: '00', echoDelayMs: 0 });
  const port = await scheme.listen();
  const links = await startTestLinks([clientLink(port, { echoIdleMs: 80, originatedTimeoutMs: 500 })], new ApprovingAcceptor());
  try {
    await waitFor(() => scheme.codesSeen.filter((code) => code === '301').length >= 3, 3000, 'three echoes');
    assert.equal(scheme.connections, 1, 'no reconnect while echoes are answered');
    assert.equal(links.supervisor.isReady(), true);
  } finally {
    await links.stop();
    scheme.close();
  }
});

test('client mode: after M unanswered echoes the link is called down, closed and redialled', async () => {
  const scheme = new ScriptedScheme({ signOnResponseCode: '00', echoDelayMs: null });
  const port = await scheme.listen();
  const links = await startTestLinks([clientLink(port, { echoIdleMs: 60, originatedTimeoutMs: 80, echoUnansweredMax: 2 })],
    new ApprovingAcceptor());
  try {
    await waitFor(() => scheme.codesSeen.lastIndexOf('001') > 0, 4000, 'sign-on again after link down');
    assert.equal(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'echo_unanswered' }), 1);
    assert.ok(await metricValue(links.registry, 'iso_link_reconnects_total', { link: 'scheme' }) >= 1);
    const secondSignOn = scheme.codesSeen.indexOf('001', 1);
    assert.deepEqual(scheme.codesSeen.slice(0, secondSignOn), ['001', '301', '301'],
      'exactly M echoes went unanswered before the link was called down');
  } finally {
    await links.stop();
    scheme.close();
  }
});

test('client mode: a late echo response is counted as late, not treated as a match', async () => {
  const scheme = new ScriptedScheme({ signOnResponseCode: '00', echoDelayMs: 150 });
  const port = await scheme.listen();
  const links = await startTestLinks([clientLink(port, { echoIdleMs: 50, originatedTimeoutMs: 60, echoUnansweredMax: 100 })],
    new ApprovingAcceptor());
  try {
    await waitFor(() => links.log.text().includes('response matches no request we sent'), 3000, 'late response logged');
    assert.ok(await metricValue(links.registry, 'iso_link_unmatched_responses_total', { link: 'scheme', kind: 'late' }) >= 1);
  } finally {
    await links.stop();
    scheme.close();
  }
});

test('client mode: a refused sign-on closes the connection and redials with growing delays', async () => {
  const scheme = new ScriptedScheme({ signOnResponseCode: '91', echoDelayMs: 0 });
  const port = await scheme.listen();
  const times: number[] = [];
  scheme.server.on('connection', () => times.push(Date.now()));
  const links = await startTestLinks([clientLink(port, { reconnectInitialMs: 40, reconnectMaxMs: 1000, reconnectJitterRatio: 0.5 })],
    new ApprovingAcceptor());
  try {
    await waitFor(() => times.length >= 5, 5000, 'five dials');
    assert.equal(links.supervisor.isReady(), false);
    assert.ok(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'sign_on_failed' }) >= 4);
    const gaps = times.slice(1).map((time, index) => time - times[index]!);
    // Base delays 40, 80, 160, 320 ms, each shortened by up to half: the fourth gap is at least 160.
    assert.ok(gaps[3]! >= 150, `gaps ${gaps.join(', ')}`);
    assert.ok(gaps[3]! > gaps[0]!, `gaps ${gaps.join(', ')}`);
  } finally {
    await links.stop();
    scheme.close();
  }
});

test('client mode: with nobody listening it keeps redialling and reports waiting_to_reconnect', async () => {
  const placeholder = createServer();
  await new Promise<void>((resolve) => placeholder.listen(0, '127.0.0.1', resolve));
  const port = (placeholder.address() as { port: number }).port;
  await new Promise<void>((resolve) => placeholder.close(() => resolve()));
  const links = await startTestLinks([clientLink(port, { reconnectInitialMs: 20, reconnectMaxMs: 40 })], new ApprovingAcceptor());
  try {
    await waitFor(() => links.log.text().split('connect failed').length > 3, 3000, 'three failed dials');
    await delay(5);
    assert.equal(links.supervisor.isReady(), false);
    assert.ok(['waiting_to_reconnect', 'connecting'].includes(links.supervisor.status('scheme')!.state));
    assert.ok(await metricValue(links.registry, 'iso_link_reconnects_total', { link: 'scheme' }) >= 2);
  } finally {
    await links.stop();
  }
  assert.equal(links.supervisor.status('scheme')?.state, 'stopped', 'drain stops the redialling');
});
