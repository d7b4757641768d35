import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningGateway } from '../../src/gateway';
import { admin, startTestGateway } from '../support/gateway-harness';

let gateway: RunningGateway;
const PAN = '5454545454545454';

before(async () => {
  gateway = await startTestGateway();
});

after(async () => {
  await gateway.stop();
});

test('every /v1 route answers 401 without the bearer token, and with a wrong one', async () => {
  for (const [method, path] of [['GET', '/v1/accounts/acct-demo-main'], ['PUT', '/v1/cards'],
    ['POST', '/v1/authorise'], ['GET', '/v1/decisions?cardId=x']] as const) {
    const bare = await fetch(`http://127.0.0.1:${gateway.httpPort}${path}`, { method, body: method === 'GET' ? null : '{}' });
    assert.equal(bare.status, 401, `${method} ${path}`);
    const wrong = await fetch(`http://127.0.0.1:${gateway.httpPort}${path}`,
      { method, headers: { authorization: 'Bearer nope' }, body: method === 'GET' ? null : '{}' });
    assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
  }
});

test('accounts: PUT creates, GET shows balance, available and holds, credit and debit move the balance', async () => {
  const put = await admin(gateway, 'PUT', '/v1/accounts/acct-admin-1', { currency: '826', balanceMinor: 10_000, overdraftMinor: 500 });
  assert.equal(put.status, 200);
  const got = await admin(gateway, 'GET', '/v1/accounts/acct-admin-1');
  assert.equal(got.body['balanceMinor'], 10_000);
  assert.equal(got.body['availableMinor'], 10_500);
  assert.deepEqual(got.body['holds'], []);
  const credited = await admin(gateway, 'POST', '/v1/accounts/acct-admin-1/credit', { amountMinor: 250 });
  assert.equal(credited.body['balanceMinor'], 10_250);
  const debited = await admin(gateway, 'POST', '/v1/accounts/acct-admin-1/debit', { amountMinor: 1_000 });
  assert.equal(debited.body['balanceMinor'], 9_250);
});

test('a debit naming a hold posts that hold and frees it from the available balance', async () => {
  await admin(gateway, 'PUT', '/v1/accounts/acct-admin-2', { currency: '826', balanceMinor: 5_000 });
  await admin(gateway, 'PUT', '/v1/cards', { pan: '4916338506082832', expiry: '3012', accountId: 'acct-admin-2' });
  const authorised = await admin(gateway, 'POST', '/v1/authorise', { pan: '4916338506082832', amountMinor: 1_200 });
  assert.equal(authorised.body['responseCode'], '00');
  const account = await admin(gateway, 'GET', '/v1/accounts/acct-admin-2');
  const holds = account.body['holds'] as { holdId: string }[];
  assert.equal(holds.length, 1);
  const posted = await admin(gateway, 'POST', '/v1/accounts/acct-admin-2/debit', { amountMinor: 1_150, holdId: holds[0]!.holdId });
  assert.equal(posted.status, 200);
  assert.equal(posted.body['balanceMinor'], 3_850);
  assert.equal(posted.body['availableMinor'], 3_850);
});

test('cards: PUT returns a cardId and never the PAN; GET shows the masked PAN; PATCH changes status and controls', async () => {
  await admin(gateway, 'PUT', '/v1/accounts/acct-admin-3', { currency: '826', balanceMinor: 1_000 });
  const put = await admin(gateway, 'PUT', '/v1/cards', { pan: PAN, expiry: '3012', accountId: 'acct-admin-3', status: 'active',
    controls: { gamblingBlock: true }, limits: { dailySpendMinor: 50_000 } });
  assert.equal(put.status, 200);
  assert.deepEqual(Object.keys(put.body), ['cardId']);
  const cardId = put.body['cardId'] as string;
  const got = await admin(gateway, 'GET', `/v1/cards/${cardId}`);
  assert.equal(got.body['panMasked'], '545454******5454');
  assert.ok(!JSON.stringify(got.body).includes(PAN));
  assert.equal((got.body['controls'] as Record<string, unknown>)['gamblingBlock'], true);
  assert.equal((got.body['limits'] as Record<string, unknown>)['dailySpendMinor'], 50_000);
  const patched = await admin(gateway, 'PATCH', `/v1/cards/${cardId}`, { status: 'lost', controls: { frozen: true } });
  assert.equal(patched.body['status'], 'lost');
  assert.equal((patched.body['controls'] as Record<string, unknown>)['frozen'], true);
  assert.equal((patched.body['controls'] as Record<string, unknown>)['gamblingBlock'], true, 'unnamed controls are kept');
  const declined = await admin(gateway, 'POST', '/v1/authorise', { pan: PAN, amountMinor: 100 });
  assert.equal(declined.body['responseCode'], '41');
});

test('bad input is 400 naming the field; unknown ids are 404', async () => {
  const cases: [string, string, unknown, string][] = [
    ['PUT', '/v1/accounts/acct-x', { currency: 'GBP', balanceMinor: 1 }, 'currency'],
    ['PUT', '/v1/accounts/acct-x', { currency: '826', balanceMinor: -1 }, 'balanceMinor'],
    ['PUT', '/v1/accounts/acct-x', { currency: '826', balanceMinor: 1, colour: 'red' }, 'colour'],
    ['PUT', '/v1/cards', { pan: '1234567890123', expiry: '3012', accountId: 'a' }, 'pan'],
    ['PUT', '/v1/cards', { pan: PAN, expiry: '3013', accountId: 'a' }, 'expiry'],
    ['PUT', '/v1/cards', { pan: PAN, expiry: '3012', accountId: 'a', status: 'sleepy' }, 'status'],
    ['PUT', '/v1/cards', { pan: PAN, expiry: '3012', accountId: 'a', controls: { frozen: 'yes' } }, 'controls.frozen'],
    ['POST', '/v1/authorise', { pan: PAN }, 'amountMinor'],
    ['POST', '/v1/accounts/acct-admin-1/credit', { amountMinor: 1.5 }, 'amountMinor'],
  ];
  for (const [method, path, body, field] of cases) {
    const response = await admin(gateway, method, path, body);
    assert.equal(response.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    assert.equal(response.body['field'], field);
  }
  const invalidJson = await fetch(`http://127.0.0.1:${gateway.httpPort}/v1/cards`, { method: 'PUT',
    headers: { authorization: 'Bearer test-admin-token' }, body: '{not json' });
  assert.equal(invalidJson.status, 400);
  assert.equal((await admin(gateway, 'GET', '/v1/accounts/acct-none')).status, 404);
  assert.equal((await admin(gateway, 'GET', '/v1/cards/card-none')).status, 404);
  assert.equal((await admin(gateway, 'PATCH', '/v1/cards/card-none', { status: 'lost' })).status, 404);
  assert.equal((await admin(gateway, 'POST', '/v1/accounts/acct-none/credit', { amountMinor: 1 })).status, 404);
  assert.equal((await admin(gateway, 'GET', '/v1/decisions?cardId=card-none')).status, 404);
});

test('POST /v1/authorise runs the demo cards through the same pipeline as the link', async () => {
  const approve = await admin(gateway, 'POST', '/v1/authorise', { pan: '5555555555554444', amountMinor: 1_000 });
  assert.equal(approve.status, 200);
  assert.equal(approve.body['responseCode'], '00');
  assert.match(approve.body['approvalCode'] as string, /^[0-9A-Z]{6}$/);
  const lowBalance = await admin(gateway, 'POST', '/v1/authorise', { pan: '5200828282828210', amountMinor: 1_000 });
  assert.equal(lowBalance.body['responseCode'], '51');
  const frozen = await admin(gateway, 'POST', '/v1/authorise', { pan: '5105105105105100', amountMinor: 100 });
  assert.equal(frozen.body['responseCode'], '62');
});
