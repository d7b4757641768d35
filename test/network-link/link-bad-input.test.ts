import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, IsoMessage } from '../../src/iso8583';
import type { LinkExchange } from '../../src/network-link';
import {
  ApprovingAcceptor, approvalFor, authorisation, connectPeer, delay, dialect, dialSocket, HoldingAcceptor, metricValue,
  networkRequest, serverLink, signOn, startTestLinks, waitFor,
} from './harness';

function closed(socket: import('node:net').Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    socket.once('close', () => resolve());
  });
}

test('a frame that does not decode but shows its MTI and DE 11 is answered 0110 with that STAN and DE 39 = 30; the next frame is served', async () => {
  const acceptor = new ApprovingAcceptor();
  const links = await startTestLinks([serverLink()], acceptor);
  const peer = await connectPeer(links.port);
  try {
    await signOn(peer);
    const request = authorisation();
    const body = encode(dialect, request);
    const answer = new Promise<IsoMessage | undefined>((resolve) => {
      peer.expect('0100', request.getString(11)!, 2000, (response) => resolve(response));
    });
    // Cut the last field short: MTI, bitmap and DE 11 stay readable, the message does not decode.
    peer.sendRaw(body.subarray(0, body.length - 3));
    const response = await answer;
    assert.equal(response?.mti, '0110');
    assert.equal(response?.getString(11), request.getString(11));
    assert.equal(response?.getString(39), '30');
    assert.equal(acceptor.handled, 0);
    const next = await peer.requestOnce(authorisation(), 2000);
    assert.equal(next?.getString(39), '00', 'the link still serves valid frames');
    assert.equal(await metricValue(links.registry, 'iso_link_decode_errors_total', { link: 'scheme' }), 1);
    assert.equal(await metricValue(links.registry, 'iso_link_refusals_total', { link: 'scheme', reason: 'format_error' }), 1);
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('a frame whose MTI cannot be read is counted and dropped without an answer', async () => {
  const links = await startTestLinks([serverLink()], new ApprovingAcceptor());
  const peer = await connectPeer(links.port);
  try {
    await signOn(peer);
    const framesBefore = peer.counts.framesIn;
    peer.sendRaw(Buffer.from('XYZ!garbage that is not iso 8583'));
    await signOn(peer);
    assert.equal(peer.counts.framesIn, framesBefore + 1, 'only the second sign-on was answered');
    assert.equal(await metricValue(links.registry, 'iso_link_dropped_frames_total', { link: 'scheme' }), 1);
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('an impossible length (above frameBytesMax) closes the connection; new connections are still served', async () => {
  const links = await startTestLinks([serverLink({ frameBytesMax: 1024 })], new ApprovingAcceptor());
  const socket = await dialSocket(links.port);
  try {
    socket.write(Buffer.from('ffff', 'hex'));
    await closed(socket);
    assert.equal(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'frame_too_large' }), 1);
    const peer = await connectPeer(links.port);
    await signOn(peer);
    peer.destroy();
  } finally {
    socket.destroy();
    await links.stop();
  }
});

test('a malformed ASCII length header closes the connection', async () => {
  const links = await startTestLinks([serverLink({ framing: 'ascii4' })], new ApprovingAcceptor());
  const socket = await dialSocket(links.port);
  try {
    socket.write(Buffer.from('12a4'));
    await closed(socket);
    assert.equal(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'invalid_length' }), 1);
  } finally {
    socket.destroy();
    await links.stop();
  }
});

test('financial requests before sign-on are refused with DE 39 = 91 and never reach the acceptor', async () => {
  const acceptor = new ApprovingAcceptor();
  const links = await startTestLinks([serverLink({ signOnRequired: true })], acceptor);
  const peer = await connectPeer(links.port);
  try {
    const refused = await peer.requestOnce(authorisation(), 2000);
    assert.equal(refused?.getString(39), '91');
    assert.equal(acceptor.handled, 0);
    await signOn(peer);
    const approved = await peer.requestOnce(authorisation(), 2000);
    assert.equal(approved?.getString(39), '00');
    const signOff = await peer.requestOnce(networkRequest('002'), 2000);
    assert.equal(signOff?.getString(39), '00');
    const afterSignOff = await peer.requestOnce(authorisation(), 2000);
    assert.equal(afterSignOff?.getString(39), '91');
    assert.equal(await metricValue(links.registry, 'iso_link_refusals_total', { link: 'scheme', reason: 'not_signed_on' }), 2);
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('an unknown DE 70 code is answered 0810 with DE 39 = 12', async () => {
  const links = await startTestLinks([serverLink()], new ApprovingAcceptor());
  const peer = await connectPeer(links.port);
  try {
    const response = await peer.requestOnce(networkRequest('999'), 2000);
    assert.equal(response?.mti, '0810');
    assert.equal(response?.getString(39), '12');
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('an acceptor that throws gets DE 39 = 96 sent for it; a second respond is ignored and counted', async () => {
  let calls = 0;
  let kept: LinkExchange | undefined;
  const links = await startTestLinks([serverLink()], {
    handleRequest(request, exchange) {
      calls += 1;
      if (calls === 1) throw new Error('acceptor bug');
      exchange.respond(approvalFor(request));
      kept = exchange;
    },
  });
  const peer = await connectPeer(links.port);
  try {
    await signOn(peer);
    const first = await peer.requestOnce(authorisation(), 2000);
    assert.equal(first?.getString(39), '96');
    const second = await peer.requestOnce(authorisation(), 2000);
    assert.equal(second?.getString(39), '00');
    kept!.respond(approvalFor(kept!.request));
    assert.equal(await metricValue(links.registry, 'iso_link_duplicate_responds_total', { link: 'scheme' }), 1);
    assert.equal(await metricValue(links.registry, 'iso_link_refusals_total', { link: 'scheme', reason: 'handler_failed' }), 1);
    assert.equal(links.supervisor.status('scheme')?.inflight, 0);
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('a response that does not encode is replaced by DE 39 = 96 and frees the slot', async () => {
  const links = await startTestLinks([serverLink()], {
    handleRequest(request, exchange) {
      // DE 4 is numeric: letters must fail to encode.
      exchange.respond(approvalFor(request).set(4, 'NOT-A-NUMBER'));
    },
  });
  const peer = await connectPeer(links.port);
  try {
    await signOn(peer);
    const response = await peer.requestOnce(authorisation(), 2000);
    assert.equal(response?.getString(39), '96');
    assert.equal(links.supervisor.status('scheme')?.inflight, 0);
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('the peer killed mid-frame and with requests in flight: slots are released, late responds are dropped and counted', async () => {
  const acceptor = new HoldingAcceptor();
  const links = await startTestLinks([serverLink()], acceptor);
  const peer = await connectPeer(links.port);
  try {
    await signOn(peer);
    for (let index = 0; index < 3; index++) peer.send(authorisation());
    await waitFor(() => acceptor.exchanges.length === 3, 2000, 'three requests held');
    assert.equal(links.supervisor.status('scheme')?.inflight, 3);
    // Half a frame (length header says more is coming), then the peer dies.
    const body = encode(dialect, authorisation());
    const partial = Buffer.alloc(12);
    partial.writeUInt16BE(body.length, 0);
    body.copy(partial, 2, 0, 10);
    peer.writeBytes(partial);
    peer.destroy();
    await waitFor(() => links.supervisor.status('scheme')?.connections === 0, 2000, 'connection gone');
    assert.equal(links.supervisor.status('scheme')?.inflight, 0);
    assert.equal(acceptor.exchanges[0]!.connectionOpen, false);
    acceptor.respondAll();
    assert.equal(await metricValue(links.registry, 'iso_link_responds_after_close_total', { link: 'scheme' }), 3);
    assert.equal(await metricValue(links.registry, 'iso_link_inflight', { link: 'scheme' }), 0);
    const again = await connectPeer(links.port);
    await signOn(again);
    again.destroy();
  } finally {
    await links.stop();
  }
});

test('a slow peer whose frame does not complete in time is disconnected', async () => {
  const links = await startTestLinks([serverLink({ frameAssemblyTimeoutMs: 150 })], new ApprovingAcceptor());
  const socket = await dialSocket(links.port);
  try {
    socket.write(Buffer.from([0x00, 0x40, 0x30, 0x31]));
    const started = Date.now();
    await closed(socket);
    assert.ok(Date.now() - started < 2000);
    assert.equal(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'frame_timeout' }), 1);
  } finally {
    socket.destroy();
    await links.stop();
  }
});

test('an idle peer that sends nothing is disconnected after readIdleTimeoutMs', async () => {
  const links = await startTestLinks([serverLink({ readIdleTimeoutMs: 150, echoIdleMs: 0 })], new ApprovingAcceptor());
  const socket = await dialSocket(links.port);
  try {
    await closed(socket);
    assert.equal(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'idle_timeout' }), 1);
  } finally {
    socket.destroy();
    await links.stop();
  }
});

test('connections beyond connectionsMax are refused', async () => {
  const links = await startTestLinks([serverLink({ connectionsMax: 1 })], new ApprovingAcceptor());
  const first = await connectPeer(links.port);
  try {
    await signOn(first);
    const second = await dialSocket(links.port);
    await closed(second);
    assert.equal(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'connections_max' }), 1);
    await signOn(first);
    await delay(1);
  } finally {
    first.destroy();
    await links.stop();
  }
});
