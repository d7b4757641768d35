// The authoriser's recent decisions: a repeat is answered from memory without a store read while
// its decision is kept (the least recently used go first), and with recentDecisions 0 nothing is
// kept, so a retransmission reaches the ledger, whose own idempotency stops a second hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Authoriser } from '../../src/authorise/authoriser';
import type { DecisionLog } from '../../src/authorise/decision-log';
import { MemoryLedger } from '../../src/authorise/memory-ledger';
import { readSchemeRequest, SchemeRequestFormatError, type SchemeRequest } from '../../src/acceptor/scheme-request';
import { FileDecisionLog } from '../../src/store/file-decision-log';
import { schemeMessage } from '../support/gateway-harness';
import { embeddedPartsWithOneCard } from '../support/embedded-parts';

const PAN = '5555555555554444';

async function setUp(recentDecisions: number) {
  const ledger = new MemoryLedger({ retentionMs: 86_400_000 });
  const accountId = 'acct-recent';
  const { cards, shards, panHasher } = await embeddedPartsWithOneCard(ledger,
    { pan: PAN, accountId, cardId: 'card-recent', balanceMinor: 100_000 });
  const log = new FileDecisionLog({ path: join(mkdtempSync(join(tmpdir(), 'recent-')), 'd.jsonl'),
    recentPerCard: 50, maxKeys: 1000 });
  let storeReads = 0;
  // The file log, with its reads by key counted.
  const decisions: DecisionLog = {
    append: (record) => log.append(record),
    appendPatiently: (record) => log.appendPatiently(record),
    findByIdempotencyKey: (key) => {
      storeReads += 1;
      return log.findByIdempotencyKey(key);
    },
    recentForCard: (cardId, limit) => log.recentForCard(cardId, limit),
    close: () => log.close(),
  };
  const authoriser = new Authoriser({ cards, ledger, shards, decisions, panHasher,
    settings: { holdExpiryDays: 7, recentDecisions } });
  return { authoriser, ledger, accountId, log, storeReads: () => storeReads };
}

function request(stan: string, mti = '0100'): SchemeRequest {
  const parsed = readSchemeRequest(schemeMessage({ mti, pan: PAN, amountMinor: 1_000, stan, transmissionDateTime: '1126120000' }),
    'authorisation');
  if (parsed instanceof SchemeRequestFormatError) throw parsed;
  return parsed;
}

test('recent decisions: a repeat is answered from memory, and the least recently used is the one forgotten', async () => {
  const { authoriser, ledger, accountId, log, storeReads } = await setUp(2);
  for (const stan of ['000001', '000002']) assert.equal((await authoriser.decide(request(stan), Date.now())).responseCode, '00');
  const again = await authoriser.decide(request('000001', '0101'), Date.now());
  assert.deepEqual([again.responseCode, again.replayed, storeReads()], ['00', true, 0], 'from memory, no store read');
  await authoriser.decide(request('000003'), Date.now());
  // 000002 was the least recently used: it is the one gone, so its repeat reads the store (its
  // record, and whether a stand-in answered it first).
  const second = await authoriser.decide(request('000002', '0101'), Date.now());
  assert.deepEqual([second.responseCode, second.replayed, storeReads()], ['00', true, 2]);
  assert.equal((await ledger.getAccount(accountId))?.availableMinor, 97_000, 'three holds, none twice');
  await log.close();
});

test('recent decisions: with 0 kept, a retransmission goes to the ledger, which replays it, and holds once', async () => {
  const { authoriser, ledger, accountId, log, storeReads } = await setUp(0);
  assert.equal((await authoriser.decide(request('000001'), Date.now())).responseCode, '00');
  const again = await authoriser.decide(request('000001'), Date.now());
  // Not from memory: the ledger's own idempotency replays it, and its record (and any stand-in
  // answer's) is read from the store.
  assert.deepEqual([again.responseCode, again.replayed, storeReads()], ['00', true, 2]);
  assert.equal((await ledger.getAccount(accountId))?.availableMinor, 99_000, 'one hold');
  await log.close();
});
