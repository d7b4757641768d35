/**
 * The authorisation path end to end: ISO 8583 over a real socket into the gateway, rules, holds,
 * the decision record, and the response fields. Runs on the embedded default here and on the full
 * stack (real Redis, etcd, Cassandra) in authorisation-flow-stack.test.ts: both must agree.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningGateway } from '../../src/gateway';
import type { SchemePeer } from '../../src/simulator/scheme-peer';
import type { IsoMessage } from '../../src/iso8583';
import {
  admin, connectPeer, nextStan, schemeMessage, startTestGateway, type AuthorisationFields,
} from '../support/gateway-harness';

let gateway: RunningGateway;
let peer: SchemePeer;
const logLines: string[] = [];
const backend = process.env['GATEWAY_TEST_FLAVOUR'] === 'stack' ? 'stack' : 'embedded';

before(async () => {
  gateway = await startTestGateway({ logLines, backend });
  peer = await connectPeer(gateway);
});

after(async () => {
  await peer.close();
  await gateway.stop();
});

async function send(fields: AuthorisationFields): Promise<IsoMessage> {
  const response = await peer.requestOnce(schemeMessage(fields), 3000);
  assert.ok(response, 'a response arrived');
  return response;
}

let accountCounter = 0;

/** A fresh account and card through the admin API, so tests do not share balances. */
async function newCard(options: { balanceMinor?: number; overdraftMinor?: number; card?: Record<string, unknown> } = {}):
  Promise<{ pan: string; cardId: string; accountId: string }> {
  accountCounter++;
  const accountId = `acct-flow-${accountCounter}`;
  const put = await admin(gateway, 'PUT', `/v1/accounts/${accountId}`,
    { currency: '826', balanceMinor: options.balanceMinor ?? 10_000, overdraftMinor: options.overdraftMinor ?? 0 });
  assert.equal(put.status, 200);
  const pan = luhnPan(`5100${String(accountCounter).padStart(11, '0')}`);
  const card = await admin(gateway, 'PUT', '/v1/cards',
    { pan, expiry: '3012', accountId, status: 'active', ...options.card });
  assert.equal(card.status, 200);
  return { pan, cardId: card.body['cardId'] as string, accountId };
}

function luhnPan(first15: string): string {
  for (let check = 0; check <= 9; check++) {
    const candidate = first15 + check;
    let sum = 0;
    for (let i = 0; i < candidate.length; i++) {
      let digit = Number(candidate[candidate.length - 1 - i]);
      if (i % 2 === 1) { digit *= 2; if (digit > 9) digit -= 9; }
      sum += digit;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error('unreachable');
}

async function availableOf(accountId: string): Promise<number> {
  const account = await admin(gateway, 'GET', `/v1/accounts/${accountId}`);
  return account.body['availableMinor'] as number;
}

test('an approved 0100 answers 0110 with 00, a 6-character DE 38 and the fields echoed', async () => {
  const { pan, accountId } = await newCard();
  const stan = nextStan();
  const response = await send({ pan, amountMinor: 1_234, stan, expiry: '3012' });
  assert.equal(response.mti, '0110');
  assert.equal(response.getString(39), '00');
  assert.match(response.getString(38) ?? '', /^[0-9A-Z]{6}$/);
  assert.equal(response.getString(11), stan);
  assert.equal(response.getString(2), pan);
  assert.equal(response.getString(4), '000000001234');
  assert.equal(response.getString(37), `RRN${stan}000`.slice(0, 12));
  assert.equal(response.getString(41), 'TERM0001');
  assert.equal(response.getString(49), '826');
  assert.equal(response.has(14), false, 'the expiry is never echoed');
  assert.equal(await availableOf(accountId), 10_000 - 1_234);
});

test('every rule answers its documented response code', async () => {
  const cases: { name: string; card?: Record<string, unknown>; fields?: Partial<AuthorisationFields>;
    balanceMinor?: number; expected: string }[] = [
    { name: 'lost card', card: { status: 'lost' }, expected: '41' },
    { name: 'stolen card', card: { status: 'stolen' }, expected: '43' },
    { name: 'blocked card', card: { status: 'blocked' }, expected: '62' },
    { name: 'closed card', card: { status: 'closed' }, expected: '62' },
    { name: 'expired card', card: { expiry: '2001' }, expected: '54' },
    { name: 'wrong expiry in DE 14', fields: { expiry: '2912' }, expected: '54' },
    { name: 'zero amount', fields: { amountMinor: 0 }, expected: '13' },
    { name: 'refund processing code', fields: { processingCode: '200000' }, expected: '12' },
    { name: 'frozen card', card: { controls: { frozen: true } }, expected: '62' },
    { name: 'gambling block on MCC 7995', card: { controls: { gamblingBlock: true } }, fields: { mcc: '7995' }, expected: '57' },
    { name: 'gambling block on MCC 9754', card: { controls: { gamblingBlock: true } }, fields: { mcc: '9754' }, expected: '57' },
    { name: 'ATM block on a cash withdrawal', card: { controls: { atmBlock: true } }, fields: { processingCode: '010000', mcc: '6011' }, expected: '57' },
    { name: 'contactless block', card: { controls: { contactlessBlock: true } }, fields: { posEntryMode: '071' }, expected: '57' },
    { name: 'magstripe block', card: { controls: { magstripeBlock: true } }, fields: { posEntryMode: '901' }, expected: '57' },
    { name: 'online block on e-commerce', card: { controls: { onlineBlock: true } }, fields: { posEntryMode: '810' }, expected: '57' },
    { name: 'country block', card: { controls: { blockedCountries: ['840'] } }, fields: { merchantCountry: '840' }, expected: '57' },
    { name: 'over the contactless single limit', card: { limits: { contactlessSingleMinor: 500 } }, fields: { posEntryMode: '071', amountMinor: 501 }, expected: '65' },
    { name: 'over the daily spend limit', card: { limits: { dailySpendMinor: 500 } }, fields: { amountMinor: 501 }, expected: '61' },
    { name: 'over the monthly spend limit', card: { limits: { monthlySpendMinor: 500 } }, fields: { amountMinor: 501 }, expected: '61' },
    { name: 'over the ATM amount limit', card: { limits: { atmDailyAmountMinor: 500 } }, fields: { processingCode: '010000', amountMinor: 501 }, expected: '61' },
    { name: 'over the ATM count limit', card: { limits: { atmDailyCount: 0 } }, fields: { processingCode: '010000', amountMinor: 100 }, expected: '65' },
    { name: 'insufficient funds', balanceMinor: 100, fields: { amountMinor: 101 }, expected: '51' },
    { name: 'a control that does not apply lets it through', card: { controls: { gamblingBlock: true } }, fields: { mcc: '5411' }, expected: '00' },
  ];
  for (const testCase of cases) {
    const options: Parameters<typeof newCard>[0] = {};
    if (testCase.card !== undefined) options.card = testCase.card;
    if (testCase.balanceMinor !== undefined) options.balanceMinor = testCase.balanceMinor;
    const { pan, accountId } = await newCard(options);
    const response = await send({ pan, amountMinor: 1_000, ...testCase.fields });
    assert.equal(response.getString(39), testCase.expected, testCase.name);
    if (testCase.expected !== '00') {
      assert.equal(response.has(38), false, `${testCase.name}: no approval code on a decline`);
      assert.equal(await availableOf(accountId), testCase.balanceMinor ?? 10_000, `${testCase.name}: nothing held`);
    }
  }
});

test('an unknown card answers 14', async () => {
  const response = await send({ pan: '4000056655665556', amountMinor: 100 });
  assert.equal(response.getString(39), '14');
});

test('a retransmission and a repeat (0101) get the original decision and never a second hold', async () => {
  const { pan, accountId } = await newCard();
  const fields = { pan, amountMinor: 2_000, stan: nextStan(), transmissionDateTime: '1126121500' };
  const first = await send(fields);
  const again = await send(fields);
  const repeat = await send({ ...fields, mti: '0101' });
  assert.equal(first.getString(39), '00');
  for (const duplicate of [again, repeat]) {
    assert.equal(duplicate.getString(39), '00');
    assert.equal(duplicate.getString(38), first.getString(38), 'the same approval code');
  }
  assert.equal(repeat.mti, '0110');
  assert.equal(await availableOf(accountId), 8_000);
});

test('a partial approval holds what is available and returns it with 10', async () => {
  const { pan, accountId } = await newCard({ balanceMinor: 700 });
  const response = await send({ pan, amountMinor: 1_000, partialApprovalSupported: true });
  assert.equal(response.getString(39), '10');
  assert.equal(response.getString(4), '000000000700');
  assert.equal(await availableOf(accountId), 0);
});

test('the cardholder billing amount (DE 6) is what is held when present', async () => {
  const { pan, accountId } = await newCard();
  const response = await send({ pan, amountMinor: 1_000, billingAmountMinor: 1_150 });
  assert.equal(response.getString(39), '00');
  assert.equal(await availableOf(accountId), 10_000 - 1_150);
});

test('reversals: full, partial via DE 95, repeated, and matched by RRN without DE 90', async () => {
  const { pan, accountId } = await newCard();
  const original = { pan, amountMinor: 3_000, stan: nextStan(), transmissionDateTime: '1126122000', acquirerId: '123456' };
  assert.equal((await send(original)).getString(39), '00');
  const dataElement90 = { mti: '0100', stan: original.stan, transmissionDateTime: original.transmissionDateTime,
    acquirerId: original.acquirerId };

  const partial = await send({ mti: '0400', pan, amountMinor: 3_000, original: dataElement90, replacementAmountMinor: 1_000 });
  assert.equal(partial.mti, '0410');
  assert.equal(partial.getString(39), '00');
  assert.equal(await availableOf(accountId), 9_000);

  const reversalFields = { mti: '0400', pan, amountMinor: 3_000, stan: nextStan(), original: dataElement90 };
  assert.equal((await send(reversalFields)).getString(39), '00');
  assert.equal(await availableOf(accountId), 10_000);
  assert.equal((await send({ ...reversalFields, mti: '0401' })).getString(39), '00', 'a repeated reversal');
  assert.equal(await availableOf(accountId), 10_000, 'released at most once');

  const byRrnStan = nextStan();
  await send({ pan, amountMinor: 500, stan: byRrnStan, rrn: 'RRNMATCH0001' });
  assert.equal(await availableOf(accountId), 9_500);
  assert.equal((await send({ mti: '0400', pan, amountMinor: 500, rrn: 'RRNMATCH0001' })).getString(39), '00');
  assert.equal(await availableOf(accountId), 10_000);
});

test('a reversal that arrives before its original stops the original from holding', async () => {
  const { pan, accountId } = await newCard();
  const original = { pan, amountMinor: 4_000, stan: nextStan(), transmissionDateTime: '1126123000', acquirerId: '123456' };
  const early = await send({ mti: '0420', pan, amountMinor: 4_000, original: { mti: '0100', stan: original.stan,
    transmissionDateTime: original.transmissionDateTime, acquirerId: original.acquirerId } });
  assert.equal(early.mti, '0430');
  assert.equal(early.getString(39), '00', 'a reversal advice is acknowledged');
  const late = await send(original);
  assert.notEqual(late.getString(39), '00');
  assert.equal(await availableOf(accountId), 10_000);
});

test('an advice is applied exactly once even past the balance, and answered 0130 with 00', async () => {
  const { pan, accountId } = await newCard({ balanceMinor: 1_000 });
  const advice = { mti: '0120', pan, amountMinor: 2_500, stan: nextStan() };
  const first = await send(advice);
  assert.equal(first.mti, '0130');
  assert.equal(first.getString(39), '00');
  assert.equal((await send({ ...advice, mti: '0121' })).getString(39), '00');
  assert.equal(await availableOf(accountId), -1_500);
  assert.ok(logLines.some((line) => line.includes('below its overdraft limit')), 'the overdrawn advice is flagged');
});

test('an incremental authorisation (DE 90 naming the original) grows the original hold', async () => {
  const { pan, accountId } = await newCard();
  const original = { pan, amountMinor: 2_000, stan: nextStan(), transmissionDateTime: '1126124000', acquirerId: '123456' };
  await send(original);
  const increment = await send({ pan, amountMinor: 1_500, original: { mti: '0100', stan: original.stan,
    transmissionDateTime: original.transmissionDateTime, acquirerId: original.acquirerId } });
  assert.equal(increment.getString(39), '00');
  const account = await admin(gateway, 'GET', `/v1/accounts/${accountId}`);
  const holds = account.body['holds'] as { amountMinor: number }[];
  assert.equal(holds.length, 1);
  assert.equal(holds[0]?.amountMinor, 3_500);
});

test('a financial request (0200) posts at once and its advice (0220) cannot be declined', async () => {
  const { pan, accountId } = await newCard({ balanceMinor: 1_000 });
  const financial = await send({ mti: '0200', pan, amountMinor: 400 });
  assert.equal(financial.mti, '0210');
  assert.equal(financial.getString(39), '00');
  let account = await admin(gateway, 'GET', `/v1/accounts/${accountId}`);
  assert.equal(account.body['balanceMinor'], 600);
  const advice = await send({ mti: '0220', pan, amountMinor: 900 });
  assert.equal(advice.getString(39), '00');
  account = await admin(gateway, 'GET', `/v1/accounts/${accountId}`);
  assert.equal(account.body['balanceMinor'], -300);
});

test('an MTI the gateway does not take is answered 12, a malformed decision field 30', async () => {
  const { pan } = await newCard();
  const unsupported = await send({ mti: '0300', pan, amountMinor: 100 });
  assert.equal(unsupported.getString(39), '12');
  const malformed = schemeMessage({ pan, amountMinor: 100 });
  malformed.set(2, '12345');
  const refused = await peer.requestOnce(malformed, 3000);
  assert.equal(refused?.getString(39), '30');
});

test('decisions are recorded with a masked PAN and listed by GET /v1/decisions', async () => {
  const { pan, cardId } = await newCard();
  await send({ pan, amountMinor: 111 });
  await send({ pan, amountMinor: 20_000 });
  const listed = await admin(gateway, 'GET', `/v1/decisions?cardId=${cardId}&limit=5`);
  assert.equal(listed.status, 200);
  const decisions = listed.body['decisions'] as { responseCode: string; panMasked: string }[];
  assert.deepEqual(decisions.map((d) => d.responseCode), ['51', '00']);
  assert.equal(decisions[0]?.panMasked, `${pan.slice(0, 6)}******${pan.slice(-4)}`);
  assert.ok(!JSON.stringify(listed.body).includes(pan));
  assert.ok(!logLines.some((line) => line.includes(pan)), 'the clear PAN is in no log line');
});

test('metrics show latency by MTI class and outcome with the budget as a bucket edge, codes and stages, and no PAN', async () => {
  const { pan } = await newCard();
  await send({ pan, amountMinor: 100 });
  const text = await (await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`)).text();
  const budgetSeconds = gateway.config.authorise.budgetMs / 1000;
  const bucket = new RegExp(`^gateway_authorisation_duration_seconds_bucket\\{le="${budgetSeconds}",mti_class="authorisation",outcome="approved"\\} ([0-9]+)$`, 'm');
  const match = bucket.exec(text);
  assert.ok(match, 'a bucket edge at the budget');
  assert.ok(Number(match[1]) > 0);
  assert.match(text, /^gateway_responses_total\{response_code="00"\} [1-9][0-9]*$/m);
  assert.match(text, /^gateway_responses_total\{response_code="41"\} [1-9][0-9]*$/m);
  // Each store's health (embedded: the decision log's writer; stack: Redis, etcd, Cassandra), all up.
  const storesUp = text.match(/^gateway_store_client_up\{store="[A-Za-z]+"\} [01]$/gm) ?? [];
  assert.ok(storesUp.length > 0 && storesUp.every((line) => line.endsWith(' 1')), storesUp.join('; '));
  assert.match(text, /^gateway_shards_without_owner 0$/m);
  if (backend === 'stack') {
    // Group commit: every record went in some batch, and a batch holds at least one record.
    const batches = Number(/^gateway_decision_batches_total ([0-9]+)$/m.exec(text)?.[1]);
    const records = Number(/^gateway_decision_batched_records_total ([0-9]+)$/m.exec(text)?.[1]);
    assert.ok(batches > 0 && records >= batches, `batches ${batches}, records ${records}`);
  }
  for (const stage of ['decode', 'rules', 'hold', 'persist', 'encode']) {
    assert.match(text, new RegExp(`^gateway_stage_duration_seconds_count\\{stage="${stage}"\\} [1-9][0-9]*$`, 'm'), stage);
  }
  assert.ok(!text.includes(pan));
  assert.ok(!/card-|acct-/.test(text), 'no card or account id in a label');
});
