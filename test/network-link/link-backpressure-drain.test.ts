import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, IsoMessage } from '../../src/iso8583';
import {
  ApprovingAcceptor, approvalFor, authorisation, connectPeer, delay, dialect, HoldingAcceptor, metricValue, serverLink, signOn,
  startTestLinks, waitFor,
} from './harness';

test('at the in-flight limit the link stops reading; answering frees slots and the rest flow in order', async () => {
  const acceptor = new HoldingAcceptor();
  const links = await startTestLinks([serverLink({ inflightMax: 4 })], acceptor);
  const peer = await connectPeer(links.port);
  try {
    await signOn(peer);
    const requests = Array.from({ length: 20 }, () => authorisation());
    const answers = requests.map((request) => peer.requestOnce(request, 5000));
    await waitFor(() => acceptor.exchanges.length === 4, 2000, 'four requests in flight');
    await delay(100);
    assert.equal(acceptor.exchanges.length, 4, 'no fifth request is read while four are in flight');
    assert.equal(await metricValue(links.registry, 'iso_link_inflight', { link: 'scheme' }), 4);
    // Answer two: exactly two more come in.
    for (const exchange of acceptor.exchanges.splice(0, 2)) exchange.respond(approvalFor(exchange.request));
    await waitFor(() => acceptor.exchanges.length === 4, 2000, 'two more read');
    await delay(50);
    assert.equal(acceptor.exchanges.length, 4);
    // Then answer as they come until all twenty are through.
    const seen: string[] = [];
    while (seen.length < 18) {
      await waitFor(() => acceptor.exchanges.length > 0, 2000, 'more requests');
      for (const exchange of acceptor.exchanges.splice(0)) {
        seen.push(exchange.request.getString(11)!);
        exchange.respond(approvalFor(exchange.request));
      }
    }
    const responses = await Promise.all(answers);
    assert.equal(responses.filter((response) => response?.getString(39) === '00').length, 20);
    assert.deepEqual(seen, requests.slice(2).map((request) => request.getString(11)), 'requests reach the acceptor in arrival order');
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('drain: stops accepting, signs off, finishes in-flight work, refuses new requests with 91, then closes', async () => {
  const acceptor = new HoldingAcceptor();
  const links = await startTestLinks([serverLink()], acceptor);
  const peer = await connectPeer(links.port);
  try {
    await signOn(peer);
    const inFlight = peer.requestOnce(authorisation(), 5000);
    await waitFor(() => acceptor.exchanges.length === 1, 2000, 'request in flight');
    const drained = links.supervisor.drain(3000);
    assert.equal(links.supervisor.isReady(), false, 'not ready once draining');
    await waitFor(() => peer.counts.networkRequestsAnswered['002'] === 1, 2000, 'the link signs off to the scheme');
    const duringDrain = await peer.requestOnce(authorisation(), 2000);
    assert.equal(duringDrain?.getString(39), '91');
    await assert.rejects(connectPeer(links.port).then((late) => signOn(late)), 'new connections are not accepted');
    let closed = false;
    peer.onClose(() => {
      closed = true;
    });
    await delay(50);
    assert.equal(closed, false, 'the connection stays open while a request is in flight');
    acceptor.respondAll();
    const response = await inFlight;
    assert.equal(response?.getString(39), '00', 'the in-flight request is answered');
    await drained;
    await waitFor(() => closed, 2000, 'connection closed after drain');
    assert.equal(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'drained' }), 1);
    assert.equal(links.supervisor.status('scheme')?.state, 'stopped');
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('drain is bounded: work still in flight at the bound is cut off and the connection closed', async () => {
  const acceptor = new HoldingAcceptor();
  const links = await startTestLinks([serverLink()], acceptor);
  const peer = await connectPeer(links.port);
  try {
    await signOn(peer);
    void peer.requestOnce(authorisation(), 5000);
    await waitFor(() => acceptor.exchanges.length === 1, 2000, 'request in flight');
    const started = Date.now();
    await links.supervisor.drain(200);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 150 && elapsed < 2000, `drain took ${elapsed} ms`);
    assert.equal(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'drain_timeout' }), 1);
    acceptor.respondAll();
    assert.equal(await metricValue(links.registry, 'iso_link_responds_after_close_total', { link: 'scheme' }), 1);
  } finally {
    peer.destroy();
  }
});

test('drain with nothing in flight completes at once after the sign-off is answered', async () => {
  const links = await startTestLinks([serverLink()], new HoldingAcceptor());
  const peer = await connectPeer(links.port);
  try {
    await signOn(peer);
    const started = Date.now();
    await links.supervisor.drain(3000);
    assert.ok(Date.now() - started < 1000);
    assert.equal(peer.counts.networkRequestsAnswered['002'], 1);
  } finally {
    peer.destroy();
  }
});

test('the arrival time is taken when the frame is read, before the acceptor sees it', async () => {
  let arrival = 0;
  let seenAt = 0;
  const links = await startTestLinks([serverLink()], {
    handleRequest(request: IsoMessage, exchange) {
      seenAt = performance.now();
      arrival = exchange.arrivalMs;
      assert.equal(exchange.linkName, 'scheme');
      assert.equal(exchange.dialect.name, 'ascii');
      exchange.respond(approvalFor(request));
    },
  });
  const peer = await connectPeer(links.port);
  try {
    await signOn(peer);
    const before = performance.now();
    await peer.requestOnce(authorisation(), 2000);
    assert.ok(arrival >= before && arrival <= seenAt, 'arrival is monotonic and precedes handling');
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('a frame held at the in-flight limit keeps the time it was read, so its wait counts against its budget', async () => {
  const acceptor = new HoldingAcceptor();
  const links = await startTestLinks([serverLink({ inflightMax: 1 })], acceptor);
  const peer = await connectPeer(links.port);
  try {
    await signOn(peer);
    const first = authorisation();
    const second = authorisation();
    // Both frames in one write, so they come in one read whatever the pause does to later reads.
    const answers = [first, second].map((request) => new Promise<IsoMessage | undefined>((resolve) => {
      peer.expect('0100', request.getString(11)!, 5000, (response) => resolve(response));
    }));
    peer.writeBytes(Buffer.concat([first, second].map((request) => {
      const body = encode(dialect, request);
      const frame = Buffer.alloc(2 + body.length);
      frame.writeUInt16BE(body.length, 0);
      body.copy(frame, 2);
      return frame;
    })));
    await waitFor(() => acceptor.exchanges.length === 1, 2000, 'the first request in flight');
    const firstExchange = acceptor.exchanges.splice(0, 1)[0]!;
    await delay(80);
    const answeredAt = performance.now();
    firstExchange.respond(approvalFor(firstExchange.request));
    await waitFor(() => acceptor.exchanges.length === 1, 2000, 'the second request handed over');
    const secondExchange = acceptor.exchanges[0]!;
    assert.equal(secondExchange.request.getString(11), second.getString(11));
    // The second frame was read with the first; it was handed over 80 ms later.
    assert.ok(secondExchange.arrivalMs < answeredAt - 50,
      `read at ${secondExchange.arrivalMs.toFixed(1)}, first answered at ${answeredAt.toFixed(1)}`);
    secondExchange.respond(approvalFor(secondExchange.request));
    assert.equal((await Promise.all(answers)).filter((response) => response?.getString(39) === '00').length, 2);
  } finally {
    peer.destroy();
    await links.stop();
  }
});

function framesOf(requests: IsoMessage[]): Buffer {
  return Buffer.concat(requests.map((request) => {
    const body = encode(dialect, request);
    const frame = Buffer.alloc(2 + body.length);
    frame.writeUInt16BE(body.length, 0);
    body.copy(frame, 2);
    return frame;
  }));
}

test('drain with reading paused at the limit: requests already read are answered 91, not dropped with the connection', async () => {
  const acceptor = new HoldingAcceptor();
  const links = await startTestLinks([serverLink({ inflightMax: 1, signOnRequired: false })], acceptor);
  const peer = await connectPeer(links.port);
  try {
    const requests = [authorisation(), authorisation(), authorisation()];
    const answers = requests.map((request) => new Promise<IsoMessage | undefined>((resolve) => {
      peer.expect('0100', request.getString(11)!, 5000, (response) => resolve(response));
    }));
    // All three in one write: the first goes in flight, the other two wait in the link, read.
    peer.writeBytes(framesOf(requests));
    await waitFor(() => acceptor.exchanges.length === 1, 2000, 'the first request in flight');
    const drained = links.supervisor.drain(3000);
    acceptor.respondAll();
    const codes = (await Promise.all(answers)).map((response) => response?.getString(39));
    assert.deepEqual(codes, ['00', '91', '91'], 'the one in flight decided, the two read behind it refused while draining');
    await drained;
    assert.equal(await metricValue(links.registry, 'iso_link_refusals_total', { link: 'scheme', reason: 'draining' }), 2);
  } finally {
    peer.destroy();
    await links.stop();
  }
});

test('a stream whose reads always end inside the next frame is not closed as a stalled frame', async () => {
  const links = await startTestLinks([serverLink({ frameAssemblyTimeoutMs: 300, signOnRequired: false })],
    new ApprovingAcceptor());
  const peer = await connectPeer(links.port);
  try {
    const requests = Array.from({ length: 14 }, () => authorisation());
    const answers = requests.map((request) => new Promise<IsoMessage | undefined>((resolve) => {
      peer.expect('0100', request.getString(11)!, 5000, (response) => resolve(response));
    }));
    const stream = framesOf(requests);
    const frameBytes = stream.length / requests.length;
    // Every 50 ms: the rest of one frame and the first half of the next. Each frame completes
    // within 50 ms, but no read ever ends on a frame boundary; 14 writes take 700 ms, over twice
    // the 300 ms a single frame may take to complete.
    let sent = 0;
    for (let index = 0; index < requests.length; index++) {
      const end = Math.min(stream.length, Math.floor((index + 1.5) * frameBytes));
      peer.writeBytes(stream.subarray(sent, end));
      sent = end;
      await delay(50);
    }
    peer.writeBytes(stream.subarray(sent));
    const codes = (await Promise.all(answers)).map((response) => response?.getString(39));
    assert.deepEqual(codes, requests.map(() => '00'));
    assert.equal(await metricValue(links.registry, 'iso_link_connection_closes_total', { link: 'scheme', reason: 'frame_timeout' }), 0);
  } finally {
    peer.destroy();
    await links.stop();
  }
});
