import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '../../src/iso8583';
import { FRAMING_KINDS, framingFor, type FramingKind } from '../../src/network-link';
import {
  ApprovingAcceptor, authorisation, connectPeer, delay, dialect, dialSocket, metricValue, networkRequest, serverLink,
  signOn, startTestLinks, waitFor,
} from './harness';

function framed(kind: FramingKind, body: Buffer, header = Buffer.alloc(0)): Buffer {
  const framing = framingFor(kind);
  const frame = Buffer.alloc(framing.lengthFieldBytes + header.length + body.length);
  framing.writeLength(frame, 0, header.length + body.length);
  header.copy(frame, framing.lengthFieldBytes);
  body.copy(frame, framing.lengthFieldBytes + header.length);
  return frame;
}

for (const framing of FRAMING_KINDS) {
  test(`${framing}: sign-on, echo and an authorisation round trip over a real socket`, async () => {
    const acceptor = new ApprovingAcceptor();
    const links = await startTestLinks([serverLink({ framing })], acceptor);
    const peer = await connectPeer(links.port, { framing });
    try {
      await signOn(peer);
      const echo = await peer.requestOnce(networkRequest('301'), 2000);
      assert.equal(echo?.mti, '0810');
      assert.equal(echo?.getString(39), '00');
      const request = authorisation(2500);
      const response = await peer.requestOnce(request, 2000);
      assert.equal(response?.mti, '0110');
      assert.equal(response?.getString(11), request.getString(11));
      assert.equal(response?.getString(39), '00');
      assert.equal(acceptor.handled, 1, 'network management never reaches the acceptor');
      assert.equal(links.supervisor.status('scheme')?.signedOnConnections, 1);
    } finally {
      peer.destroy();
      await links.stop();
    }
  });
}

test('ascii4: twenty pipelined authorisations on one connection are each answered once', async () => {
  const acceptor = new ApprovingAcceptor();
  const links = await startTestLinks([serverLink({ framing: 'ascii4' })], acceptor);
  const peer = await connectPeer(links.port, { framing: 'ascii4' });
  try {
    await signOn(peer);
    const requests = Array.from({ length: 20 }, (_, index) => authorisation(100 + index));
    const responses = await Promise.all(requests.map((request) => peer.requestOnce(request, 3000)));
    assert.deepEqual(responses.map((response) => response?.getString(11)), requests.map((request) => request.getString(11)));
    assert.equal(acceptor.handled, 20);
    assert.equal(peer.counts.unmatchedResponses, 0);
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('a frame split across many TCP segments and frames coalesced in one segment are reassembled exactly', async () => {
  const acceptor = new ApprovingAcceptor();
  const links = await startTestLinks([serverLink({ signOnRequired: false })], acceptor);
  const socket = await dialSocket(links.port);
  socket.setNoDelay(true);
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  try {
    const requests = Array.from({ length: 6 }, (_, index) => authorisation(10 + index));
    const frames = requests.map((request) => framed('binary2', encode(dialect, request)));
    // First frame: one byte per write with pauses so each is its own segment.
    for (const byte of frames[0]!) {
      socket.write(Buffer.from([byte]));
      await delay(1);
    }
    // The other five in one write, the last cut in the middle and completed later.
    const rest = Buffer.concat(frames.slice(1));
    socket.write(rest.subarray(0, rest.length - 7));
    await delay(20);
    socket.write(rest.subarray(rest.length - 7));
    await waitFor(() => acceptor.handled === 6, 3000, 'six requests handled');
    await waitFor(() => Buffer.concat(received).length > 0, 3000, 'responses');
    assert.equal(await metricValue(links.registry, 'iso_link_decode_errors_total', { link: 'scheme' }), 0);
    assert.equal(await metricValue(links.registry, 'iso_link_frames_total', { link: 'scheme', direction: 'in' }), 6);
  } finally {
    socket.destroy();
    await links.stop();
  }
});

test('vml4: a zero-length keep-alive frame is answered with a zero-length frame', async () => {
  const links = await startTestLinks([serverLink({ framing: 'vml4' })], new ApprovingAcceptor());
  const socket = await dialSocket(links.port);
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  try {
    socket.write(Buffer.from('00000000', 'hex'));
    await waitFor(() => Buffer.concat(received).length >= 4, 2000, 'keep-alive answer');
    assert.equal(Buffer.concat(received).toString('hex'), '00000000');
    assert.equal(await metricValue(links.registry, 'iso_link_keepalives_total', { link: 'scheme' }), 1);
  } finally {
    socket.destroy();
    await links.stop();
  }
});

test('binary2: a zero-length frame is counted and dropped, and the link keeps serving', async () => {
  const acceptor = new ApprovingAcceptor();
  const links = await startTestLinks([serverLink()], acceptor);
  const peer = await connectPeer(links.port);
  try {
    peer.sendRaw(Buffer.alloc(0));
    await signOn(peer);
    assert.equal(await metricValue(links.registry, 'iso_link_dropped_frames_total', { link: 'scheme' }), 1);
    assert.equal(peer.counts.keepAlives, 0, 'nothing was sent back for it');
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('fixed header bytes: the request header is echoed on the response and skipped when decoding', async () => {
  const acceptor = new ApprovingAcceptor();
  const links = await startTestLinks([serverLink({ headerBytes: 5, signOnRequired: false })], acceptor);
  const socket = await dialSocket(links.port);
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  try {
    const tpdu = Buffer.from('6000010002', 'hex');
    socket.write(framed('binary2', encode(dialect, authorisation()), tpdu));
    await waitFor(() => Buffer.concat(received).length > 7, 2000, 'response');
    const response = Buffer.concat(received);
    assert.equal(response.readUInt16BE(0), response.length - 2);
    assert.equal(response.subarray(2, 7).toString('hex'), '6000010002');
    assert.equal(response.subarray(7, 11).toString('latin1'), '0110');
  } finally {
    socket.destroy();
    await links.stop();
  }
});
