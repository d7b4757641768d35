import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { IsoMessage } from '../../src/iso8583';
import { formatReport, parseSimulatorArgs, reportPassed } from '../../src/simulator/main';
import { responseMismatches } from '../../src/simulator/response-check';
import { runSimulation } from '../../src/simulator/simulation';
import { ApprovingAcceptor, approvalFor, authorisation, serverLink, startTestLinks, waitFor } from './harness';

test('simulator against a server-mode link: signs on, echoes, sends the mix and counts responses by DE 39', async () => {
  const acceptor = new ApprovingAcceptor();
  const links = await startTestLinks([serverLink()], acceptor);
  try {
    const report = await runSimulation({
      port: links.port, count: 60, concurrency: 8, mix: { authorisation: 60, reversal: 20, advice: 20 },
      // Amounts up to 20,000.00 so the toy acceptor declines some (51 above 10,000.00).
      amountMinorMin: 100, amountMinorMax: 2_000_000, echoes: 2,
    });
    assert.equal(report.signOn, 'approved');
    assert.equal(report.echoesAnswered, 2);
    assert.equal(report.timeouts, 0);
    assert.equal(report.mismatches, 0);
    const sent = Object.values(report.sent).reduce((sum, count) => sum + count, 0);
    assert.equal(sent, 60);
    assert.ok((report.sent['0400'] ?? 0) > 0 && (report.sent['0120'] ?? 0) > 0 && (report.sent['0100'] ?? 0) > 0);
    const codes = report.responseCodes['0100']!;
    assert.ok((codes['00'] ?? 0) > 0 && (codes['51'] ?? 0) > 0, JSON.stringify(codes));
    assert.equal(acceptor.handled, 60);
    assert.equal(reportPassed(report), true);
    assert.match(formatReport(report), /0100: 00 x\d+, 51 x\d+/);
    assert.doesNotMatch(formatReport(report), /4111111111111111/);
    await waitFor(() => links.supervisor.status('scheme')?.connections === 0, 2000, 'simulator hung up');
  } finally {
    await links.stop();
  }
});

test('simulator in listen mode: a client-mode link dials it, signs on, and the traffic flows', async () => {
  const placeholder = createServer();
  await new Promise<void>((resolve) => placeholder.listen(0, '127.0.0.1', resolve));
  const port = (placeholder.address() as { port: number }).port;
  await new Promise<void>((resolve) => placeholder.close(() => resolve()));
  const simulation = runSimulation({ mode: 'listen', port, count: 10, echoes: 1, connectTimeoutMs: 5000 });
  const links = await startTestLinks([{ name: 'scheme', mode: 'client', port, reconnectInitialMs: 20, reconnectMaxMs: 100 }],
    new ApprovingAcceptor());
  try {
    const report = await simulation;
    assert.equal(report.timeouts, 0);
    assert.equal(report.mismatches, 0);
    assert.equal(report.gatewayNetworkRequests['001'], 1, 'the gateway signed on to the simulator');
    assert.equal(Object.values(report.sent).reduce((sum, count) => sum + count, 0), 10);
  } finally {
    await links.stop();
  }
});

test('simulator counts responses that do not match their request', async () => {
  let calls = 0;
  const links = await startTestLinks([serverLink()], {
    handleRequest(request, exchange) {
      calls += 1;
      const response = approvalFor(request);
      // Every other response carries a wrong RRN.
      if (calls % 2 === 0) response.set(37, 'WRONGRRN0000');
      exchange.respond(response);
    },
  });
  try {
    const report = await runSimulation({ port: links.port, count: 10, concurrency: 1, mix: { authorisation: 1, reversal: 0, advice: 0 } });
    assert.equal(report.mismatches, 5);
    assert.equal(report.mismatchReasons['DE 37 differs'], 5);
    assert.equal(reportPassed(report), false);
  } finally {
    await links.stop();
  }
});

test('response check: MTI + 10, DE 11 and DE 37 echoed, DE 39 present', () => {
  const request = authorisation();
  assert.deepEqual(responseMismatches(request, approvalFor(request)), []);
  const wrong = approvalFor(request);
  wrong.mti = '0130';
  wrong.delete(39);
  wrong.set(11, '000000');
  assert.deepEqual(responseMismatches(request, wrong), ['MTI 0130, expected 0110', 'DE 11 differs', 'DE 39 missing or malformed']);
  assert.deepEqual(responseMismatches(request, new IsoMessage('0110').set(39, '00')), ['DE 11 missing', 'DE 37 missing']);
});

test('simulator flags: defaults, a custom mix and cards, and refusals of bad values', () => {
  const parsed = parseSimulatorArgs(['--port', '9000', '--mix', '1,0,0', '--cards', '4000056655665556:2701', '--framing', 'vml4']);
  assert.ok(parsed !== 'help');
  assert.equal(parsed.options.port, 9000);
  assert.deepEqual(parsed.options.mix, { authorisation: 1, reversal: 0, advice: 0 });
  assert.deepEqual(parsed.options.cards, [{ pan: '4000056655665556', expiry: '2701' }]);
  assert.equal(parsed.options.framing, 'vml4');
  assert.equal(parseSimulatorArgs(['--help']), 'help');
  assert.throws(() => parseSimulatorArgs(['--framing', 'hex4']), /framing/);
  assert.throws(() => parseSimulatorArgs(['--cards', '12ab']), /PAN/);
  assert.throws(() => parseSimulatorArgs(['--count', '-1']), /count/);
});
