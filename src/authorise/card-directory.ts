/**
 * Where the authorisation path finds a card by the keyed hash of its PAN.
 *
 * Reads are synchronous from an in-process cache on the hot path (`cached`), with an asynchronous
 * load on a miss (`load`), so the common case awaits no I/O. Writes come from the admin API and
 * are visible to every instance (embedded: one map; stack: the shared store, with invalidation).
 */
import type { Card, CardControls, CardLimits, CardStatus } from './types';

export interface CardPatch {
  status?: CardStatus;
  controls?: Partial<CardControls>;
  limits?: Partial<CardLimits>;
}

export interface CardDirectory {
  cached(panHash: string): Card | undefined;
  load(panHash: string): Promise<Card | undefined>;
  getById(cardId: string): Promise<Card | undefined>;
  /** Creates or replaces the card with this PAN hash; returns it. */
  put(card: Card): Promise<Card>;
  patch(cardId: string, patch: CardPatch): Promise<Card | undefined>;
  close(): Promise<void>;
}

export class InMemoryCardDirectory implements CardDirectory {
  private readonly byPanHash = new Map<string, Card>();
  private readonly byId = new Map<string, Card>();

  cached(panHash: string): Card | undefined {
    return this.byPanHash.get(panHash);
  }

  async load(panHash: string): Promise<Card | undefined> {
    return this.byPanHash.get(panHash);
  }

  async getById(cardId: string): Promise<Card | undefined> {
    return this.byId.get(cardId);
  }

  async put(card: Card): Promise<Card> {
    const existing = this.byPanHash.get(card.panHash);
    if (existing !== undefined && existing.cardId !== card.cardId) this.byId.delete(existing.cardId);
    this.byPanHash.set(card.panHash, card);
    this.byId.set(card.cardId, card);
    return card;
  }

  async patch(cardId: string, patch: CardPatch): Promise<Card | undefined> {
    const current = this.byId.get(cardId);
    if (current === undefined) return undefined;
    const updated = applyCardPatch(current, patch);
    this.byId.set(cardId, updated);
    this.byPanHash.set(updated.panHash, updated);
    return updated;
  }

  async close(): Promise<void> {}
}

/** A new card value with the patch applied; cards are replaced, never mutated in place. */
export function applyCardPatch(card: Card, patch: CardPatch): Card {
  return {
    ...card,
    status: patch.status ?? card.status,
    controls: { ...card.controls, ...patch.controls },
    limits: { ...card.limits, ...patch.limits },
  };
}
