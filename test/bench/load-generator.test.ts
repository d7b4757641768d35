import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, Iso8583DecodeError, IsoMessage, loadDialect } from '../../src/iso8583';
import { framingFor } from '../../src/network-link/framing';
import { buildPlan, countKinds, DEFAULT_MIX, duplicateKind, reversalKind, type RequestPlan } from '../../bench/load/request-mix';
import { buildTemplate, RequestFrameWriter, stanOf, transmissionTable } from '../../bench/load/request-frames';
import { renderLatencyChart, rateTicks } from '../../bench/load/latency-chart';
import { areaOf, summariseCpuProfile } from '../../bench/load/cpu-profile';
import { saturationReasons, verdicts, type LoadLine, type StepRecord } from '../../bench/load/results';
import { parseAutocannonReport } from '../../bench/load/http-load';
import { parseBenchArgs } from '../../bench/load/options';
import { bucketIncrease, bucketQuantile, histogramBuckets } from '../../bench/load/gateway-histograms';

const CONNECTIONS = 4;
const LAG = 50;

function plan(count = 20_000): RequestPlan {
  return buildPlan({ mix: DEFAULT_MIX, count, connections: CONNECTIONS, referenceLag: LAG, seed: 7 });
}

test('the plan draws each kind close to its weight in the mix', () => {
  const built = plan();
  const counts = countKinds(built, DEFAULT_MIX.cards.length + 2);
  const weights = [...DEFAULT_MIX.cards.map(([, weight]) => weight), DEFAULT_MIX.reversal, DEFAULT_MIX.duplicate];
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  weights.forEach((weight, kind) => {
    const share = counts[kind]! / built.count;
    // Reversals and duplicates that find no original become approvals, so approvals run a little over.
    assert.ok(Math.abs(share - weight / total) < 0.02, `kind ${kind}: ${share} against ${weight / total}`);
  });
});

test('reversals name an earlier approval, at least the lag back, each approval reversed at most once', () => {
  const built = plan();
  const reversed = new Set<number>();
  for (let index = 0; index < built.count; index++) {
    if (built.kinds[index] !== reversalKind(DEFAULT_MIX)) continue;
    const original = built.references[index]!;
    assert.equal(built.kinds[original], 0, 'the original is an approval');
    assert.ok(original <= index - LAG);
    assert.equal(built.amounts[index], built.amounts[original], 'a full reversal carries the original amount');
    assert.ok(!reversed.has(original));
    reversed.add(original);
    assert.equal(built.expectedCodes[built.expected[index]!], '00');
  }
  assert.ok(reversed.size > 1000);
});

test('duplicates repeat an earlier authorisation once, on another connection, expecting its answer', () => {
  const built = plan();
  const repeated = new Set<number>();
  for (let index = 0; index < built.count; index++) {
    if (built.kinds[index] !== duplicateKind(DEFAULT_MIX)) continue;
    const original = built.references[index]!;
    assert.ok(built.kinds[original]! < DEFAULT_MIX.cards.length, 'the original is an authorisation');
    assert.notEqual(original % CONNECTIONS, index % CONNECTIONS, 'responses match by STAN per connection');
    assert.ok(original <= index - LAG);
    assert.ok(!repeated.has(original));
    repeated.add(original);
    assert.equal(built.expected[index], built.expected[original]);
  }
  assert.ok(repeated.size > 1000);
});

test('one connection means no duplicates: a copy would share its original STAN on the same connection', () => {
  const single = buildPlan({ mix: DEFAULT_MIX, count: 5000, connections: 1, referenceLag: LAG, seed: 7 });
  assert.equal(countKinds(single, DEFAULT_MIX.cards.length + 2)[duplicateKind(DEFAULT_MIX)], 0);
});

function writerFor(built: RequestPlan): { writer: RequestFrameWriter; transmissions: Buffer } {
  const transmissions = transmissionTable(Date.UTC(2026, 10, 26, 12, 0, 0), 4);
  const writer = new RequestFrameWriter({
    dialect: loadDialect('ascii'), framing: framingFor('binary2'), cards: DEFAULT_MIX.cards.map(([card]) => card), plan: built,
    stepTag: 42, transmissions, secondOf: (index) => Math.floor(index / 6000),
  });
  return { writer, transmissions };
}

function decodeFrame(bytes: Buffer): IsoMessage {
  const length = bytes.readUInt16BE(0);
  assert.equal(length, bytes.length - 2, 'the 2-byte length covers the body');
  const message = decode(loadDialect('ascii'), bytes.subarray(2));
  assert.ok(!(message instanceof Iso8583DecodeError), String(message));
  return message;
}

function frameOf(writer: RequestFrameWriter, index: number): Buffer {
  const target = Buffer.alloc(1024);
  return target.subarray(0, writer.write(index, target, 0));
}

test('patched frames decode with the codec to the planned STAN, amount, DE 7, RRN and card', () => {
  const built = plan();
  const { writer } = writerFor(built);
  for (const index of [0, 1, 999, 7000, 12345]) {
    if (built.kinds[index]! >= DEFAULT_MIX.cards.length) continue;
    const message = decodeFrame(frameOf(writer, index));
    const card = DEFAULT_MIX.cards[built.kinds[index]!]![0];
    assert.equal(message.mti, '0100');
    assert.equal(message.getString(2), card.pan);
    assert.equal(message.getString(11), String(stanOf(index)).padStart(6, '0'));
    assert.equal(Number(message.getString(4)), built.amounts[index]);
    assert.equal(message.getString(7), index < 6000 ? '1126120000' : index < 12000 ? '1126120001' : '1126120002');
    assert.equal(message.getString(37), `42${String(index).padStart(10, '0')}`);
    assert.equal(message.getString(18), card.mcc);
  }
});

test('a reversal names its original in DE 90 and carries its RRN; a duplicate is its original byte for byte', () => {
  const built = plan();
  const { writer } = writerFor(built);
  const reversal = built.kinds.findIndex((kind, index) => kind === reversalKind(DEFAULT_MIX) && index > 7000);
  const original = built.references[reversal]!;
  const message = decodeFrame(frameOf(writer, reversal));
  assert.equal(message.mti, '0400');
  const de90 = message.getString(90)!;
  assert.equal(de90.slice(0, 4), '0100');
  assert.equal(de90.slice(4, 10), String(stanOf(original)).padStart(6, '0'));
  assert.equal(de90.slice(10, 20), decodeFrame(frameOf(writer, original)).getString(7));
  assert.equal(message.getString(37), `42${String(original).padStart(10, '0')}`);
  assert.equal(message.getString(11), String(stanOf(reversal)).padStart(6, '0'));

  const duplicate = built.kinds.findIndex((kind) => kind === duplicateKind(DEFAULT_MIX));
  assert.deepEqual(frameOf(writer, duplicate), frameOf(writer, built.references[duplicate]!));
});

test('a dialect whose fields are not plain ASCII digits is refused rather than patched wrongly', () => {
  const ebcdic = loadDialect('mastercard-ebcdic');
  assert.throws(() => buildTemplate(ebcdic, framingFor('binary2'), (values) =>
    new IsoMessage('0100').set(2, '5555555555554444').set(3, '000000').set(4, values.amount).set(11, values.stan), ['stan']),
  /not 6 ASCII digits/);
});

function line(offeredPerSec: number, achievedPerSec: number, p99Ms: number, errors = 0): LoadLine {
  return { profile: 'embedded', offeredPerSec, achievedPerSec, p50Ms: p99Ms / 4, p99Ms, p999Ms: p99Ms * 2, maxMs: p99Ms * 3,
    late: 0, byResponseCode: {}, errors };
}

test('a step is saturated when it falls behind the offered rate, goes over budget, or loses requests', () => {
  assert.deepEqual(saturationReasons(line(1000, 998, 3), 10_000, 50), []);
  assert.match(saturationReasons(line(1000, 900, 3), 10_000, 50).join(), /achieved below 95 %/);
  assert.match(saturationReasons(line(1000, 1000, 51), 10_000, 50).join(), /p99 above the 50 ms budget/);
  assert.match(saturationReasons(line(1000, 1000, 3, 101), 10_000, 50).join(), /more than 1 %/);
});

function step(record: LoadLine): StepRecord {
  const reasons = saturationReasons(record, 10_000, 50);
  return { line: record, details: { saturated: reasons.length > 0, saturationReasons: reasons } as StepRecord['details'] };
}

test('the embedded target is met only by a step at 20k/s or more with p99 within 5 ms and no errors', () => {
  assert.match(verdicts('embedded', [step(line(10_000, 10_000, 2)), step(line(20_000, 20_000, 4))])[0]!, /^met: 20000\/s/);
  assert.match(verdicts('embedded', [step(line(10_000, 10_000, 2)), step(line(20_000, 20_000, 7))])[0]!, /^missed: .* was 10000\/s/);
  const stack = verdicts('stack', [step({ ...line(1_000, 1_000, 9), late: 2 }), step(line(3_000, 3_000, 15))]);
  assert.match(stack[0]!, /^met: 3000\/s/);
  assert.match(stack[1]!, /^missed: 2 responses after the deadline at 1000\/s/);
});

test('the chart puts the budget line where 50 ms falls on the log axis, and slower points higher', () => {
  const svg = renderLatencyChart([
    { offeredPerSec: 1000, p50Ms: 1, p99Ms: 2, p999Ms: 4, maxMs: 8 },
    { offeredPerSec: 5000, p50Ms: 2, p99Ms: 400, p999Ms: 900, maxMs: 2000 },
  ], { title: 'test & check', budgetMs: 50, targetP99Ms: 5 });
  assert.match(svg, /test &amp; check/);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 4);
  const budgetY = Number(/data-reference="budget"[^>]*y1="([0-9.]+)"/.exec(svg)![1]);
  const targetY = Number(/data-reference="target"[^>]*y1="([0-9.]+)"/.exec(svg)![1]);
  const p99 = /data-series="p99" points="([^"]+)"/.exec(svg)![1]!.split(' ').map((point) => Number(point.split(',')[1]));
  assert.ok(targetY > budgetY, 'the 5 ms target sits below the 50 ms budget');
  assert.ok(p99[0]! > targetY && p99[1]! < budgetY, '2 ms under the target line, 400 ms over the budget line');
  // Axis from 1 ms to 10 s: 50 ms is log10(50)/4 of the way up.
  const top = 56;
  const height = 420 - top - 60;
  assert.ok(Math.abs(budgetY - (top + height - (Math.log10(50) / 4) * height)) < 0.1);
});

test('rate ticks are round numbers that cover the highest rate', () => {
  assert.deepEqual(rateTicks(400), [0, 100, 200, 300, 400]);
  assert.deepEqual(rateTicks(25_000), [0, 5000, 10_000, 15_000, 20_000, 25_000]);
});

test('a CPU profile is summarised over the window only, idle excluded, by function and by area', () => {
  const frame = (id: number, functionName: string, url: string, children: number[] = []): Record<string, unknown> =>
    ({ id, callFrame: { functionName, url, lineNumber: 9, columnNumber: 0, scriptId: '1' }, hitCount: 0, children });
  const profile = {
    // decode calls observe; the root holds the rest.
    nodes: [frame(1, '(root)', '', [2, 3, 5]), frame(2, '(idle)', ''), frame(3, 'decode', 'file:///repo/dist/src/iso8583/decode.js', [4]),
      frame(4, 'observe', 'file:///repo/node_modules/prom-client/lib/histogram.js'), frame(5, '(garbage collector)', '')],
    startTime: 1_000_000,
    // Samples 1 ms apart: two before the window (start-up), then inside it.
    samples: [3, 3, 3, 3, 4, 2, 2, 5, 3],
    timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };
  const summary = summariseCpuProfile(profile, [1_002_000, 1_100_000]);
  assert.equal(summary.topFrames[0]!.functionName, 'decode');
  assert.equal(summary.topFrames[0]!.location, 'src/iso8583/decode.ts (js line 10)');
  assert.equal(summary.busyMs, 4, 'decode x2, observe and GC inside the window; idle and start-up left out');
  assert.deepEqual(summary.byArea.map((area) => area.area).sort(), ['garbage collector', 'npm prom-client', 'src/iso8583/']);
  assert.deepEqual(summary.topInclusive.map((entry) => [entry.functionName, entry.selfMs]), [['decode', 3]],
    'decode total: its own 2 ms and the 1 ms in observe it called');
  assert.equal(areaOf('emit', 'node:events'), 'node core (events)');
});

test("autocannon's JSON report becomes achieved rate and percentiles", () => {
  const result = parseAutocannonReport(JSON.stringify({ duration: 5, non2xx: 1, errors: 0, timeouts: 0,
    latency: { p50: 2, p99: 9, p99_9: 12, max: 30 }, requests: { total: 2500 } }),
  { url: 'http://127.0.0.1:1/v1/authorise', method: 'POST', ratePerSec: 500, durationSec: 5, connections: 8 });
  assert.deepEqual(result, { path: '/v1/authorise', method: 'POST', offeredPerSec: 500, achievedPerSec: 500, p50Ms: 2, p99Ms: 9,
    p999Ms: 12, maxMs: 30, requests: 2500, non2xx: 1, errors: 0, timeouts: 0 });
  assert.throws(() => parseAutocannonReport('Running 5s test', { url: 'http://x/', method: 'GET', ratePerSec: 1, durationSec: 1, connections: 1 }),
    /no JSON report/);
});

test('the smoke flag, or BENCH_SMOKE=1, makes a short run into a temp folder; the stack profile has its own ladder', () => {
  const smoke = parseBenchArgs([], { BENCH_SMOKE: '1' }, '/repo');
  assert.ok(smoke !== 'help');
  assert.equal(smoke.smoke, true);
  assert.deepEqual(smoke.rates, [200, 400]);
  assert.ok(smoke.durationSeconds <= 2);
  assert.ok(!smoke.resultsDir.startsWith('/repo'), 'a smoke run never overwrites bench/results');
  const stack = parseBenchArgs(['--profile', 'stack'], {}, '/repo');
  assert.ok(stack !== 'help');
  assert.ok(stack.rates.includes(1000) && stack.rates.includes(3000), 'the stack ladder has the 1k and 3k targets as steps');
  assert.equal(stack.resultsDir, '/repo/bench/results');
  assert.throws(() => parseBenchArgs(['--rates', '100,-1'], {}, '/repo'), /positive numbers/);
  assert.throws(() => parseBenchArgs(['--profile', 'cloud'], {}, '/repo'), /embedded or stack/);
});

test('the stack warms a freshly started Cassandra for 60 s at 500/s by default; the embedded profile and smoke runs never do', () => {
  const stack = parseBenchArgs(['--profile', 'stack'], {}, '/repo');
  assert.ok(stack !== 'help');
  assert.deepEqual([stack.servicesWarmupSeconds, stack.servicesWarmupRate, stack.servicesFreshMinutes], [60, 500, 10]);
  const tuned = parseBenchArgs(['--profile', 'stack', '--services-warmup-seconds', '0', '--services-warmup-rate', '800',
    '--services-fresh-minutes', '30'], {}, '/repo');
  assert.ok(tuned !== 'help');
  assert.deepEqual([tuned.servicesWarmupSeconds, tuned.servicesWarmupRate, tuned.servicesFreshMinutes], [0, 800, 30]);
  const embedded = parseBenchArgs(['--services-warmup-seconds', '60'], {}, '/repo');
  assert.ok(embedded !== 'help');
  assert.equal(embedded.servicesWarmupSeconds, 0, 'nothing to warm without services');
  const smoke = parseBenchArgs(['--profile', 'stack', '--smoke'], {}, '/repo');
  assert.ok(smoke !== 'help');
  assert.equal(smoke.servicesWarmupSeconds, 0);
  assert.throws(() => parseBenchArgs(['--profile', 'stack', '--services-warmup-rate', '0'], {}, '/repo'), /positive/);
});

test("the gateway's histograms are read from /metrics text and their quantile is interpolated as Prometheus does", () => {
  const scrape = (decode: number[], hold: number[]): string => [
    '# TYPE gateway_stage_duration_seconds histogram',
    ...['0.001', '0.01', '+Inf'].map((le, index) => `gateway_stage_duration_seconds_bucket{le="${le}",stage="decode"} ${decode[index]}`),
    ...['0.001', '0.01', '+Inf'].map((le, index) => `gateway_stage_duration_seconds_bucket{le="${le}",stage="hold"} ${hold[index]}`),
    'gateway_stage_duration_seconds_count{stage="decode"} 0',
  ].join('\n');
  const before = histogramBuckets(scrape([10, 10, 10], [0, 5, 5]), 'gateway_stage_duration_seconds', 'stage');
  const after = histogramBuckets(scrape([110, 110, 110], [50, 105, 105]), 'gateway_stage_duration_seconds', 'stage');
  const increase = bucketIncrease(after, before);
  assert.deepEqual([...increase.get('decode')!.entries()], [[0.001, 100], [0.01, 100], [Infinity, 100]]);
  // hold: 50 of 100 under 1 ms, the rest under 10 ms; p99 is 0.99 of the way through that bucket.
  assert.ok(Math.abs(bucketQuantile(increase.get('hold')!, 0.99) - (0.001 + 0.009 * (49 / 50))) < 1e-12);
  assert.ok(Math.abs(bucketQuantile(increase.get('decode')!, 0.5) - 0.0005) < 1e-12);
  // Every label summed when no group is named; no observations gives NaN.
  assert.equal(histogramBuckets(scrape([1, 2, 3], [4, 5, 6]), 'gateway_stage_duration_seconds').get('')!.get(Infinity), 9);
  assert.ok(Number.isNaN(bucketQuantile(new Map([[Infinity, 0]]), 0.99)));
});
