/**
 * Cards in the stack: Cassandra is the record, Redis (with each process's in-memory cache) is the
 * fast copy every gateway reads. Writes go to Cassandra first, then Redis, so a card that Redis
 * lost (a restart without persistence) is found again in Cassandra on the next miss and put back.
 */
import type { CardDirectory, CardPatch } from '../authorise/card-directory';
import type { Card } from '../authorise/types';
import type { CassandraCardStore } from './cassandra';

export class DurableCardDirectory implements CardDirectory {
  constructor(private readonly fast: CardDirectory, private readonly record: CassandraCardStore) {}

  cached(panHash: string): Card | undefined {
    return this.fast.cached(panHash);
  }

  async load(panHash: string): Promise<Card | undefined> {
    const fast = await this.fast.load(panHash);
    if (fast !== undefined) return fast;
    const recorded = await this.record.getByPanHash(panHash);
    if (recorded !== undefined) await this.fast.put(recorded);
    return recorded;
  }

  async getById(cardId: string): Promise<Card | undefined> {
    const fast = await this.fast.getById(cardId);
    if (fast !== undefined) return fast;
    const recorded = await this.record.getById(cardId);
    if (recorded !== undefined) await this.fast.put(recorded);
    return recorded;
  }

  async put(card: Card): Promise<Card> {
    await this.record.put(card);
    return this.fast.put(card);
  }

  async patch(cardId: string, patch: CardPatch): Promise<Card | undefined> {
    const updated = await this.record.patch(cardId, patch);
    if (updated === undefined) return undefined;
    return this.fast.put(updated);
  }

  async close(): Promise<void> {
    await this.fast.close();
  }
}
