/**
 * The embedded authorisation parts a unit test wires by hand (around an Authoriser), with one
 * active account and card in them: what test/acceptor/deadline.test.ts and
 * test/authorise/authoriser-recent.test.ts both start from.
 */
import type { Ledger } from '../../src/authorise/ledger';
import { InMemoryCardDirectory } from '../../src/authorise/card-directory';
import { SingleProcessShardDirectory } from '../../src/authorise/shard-directory';
import { PanHasher, maskPan } from '../../src/authorise/pan-protection';
import { configDefaults } from '../../src/config/schema';

export interface OneCard {
  pan: string;
  accountId: string;
  cardId: string;
  balanceMinor: number;
}

/** Cards, shards and a PAN hasher, with `card` and its account put in them and in `ledger`. */
export async function embeddedPartsWithOneCard(ledger: Ledger, card: OneCard) {
  const cards = new InMemoryCardDirectory();
  const shards = new SingleProcessShardDirectory(4);
  const panHasher = new PanHasher('test-pan-hash-key-0123456789');
  const shard = shards.shardOf(card.accountId);
  await ledger.claimShard(shard, 1);
  await ledger.putAccount({ accountId: card.accountId, currency: '826', balanceMinor: card.balanceMinor, overdraftMinor: 0 },
    shard, 1);
  await cards.put({ cardId: card.cardId, panHash: panHasher.hash(card.pan), panMasked: maskPan(card.pan), expiry: '3012',
    accountId: card.accountId, status: 'active', controls: configDefaults.authorise.cardDefaults.controls,
    limits: configDefaults.authorise.cardDefaults.limits });
  return { cards, shards, panHasher };
}
