/**
 * Cards in Redis with an in-process cache kept coherent across gateway instances by pub/sub.
 *
 * The authorisation path reads a card synchronously from the cache (`cached`); a miss costs one
 * Function call (`load`, PAN index and card in one round trip). Every change is published from
 * inside the Function that makes it (card-library.lua), and every instance subscribed to the channel
 * drops its cached copy when it hears of a newer version and reloads it, so a change through one
 * gateway is seen by the others within a pub/sub delivery (about a millisecond on a LAN).
 *
 * Pub/sub is fire-and-forget: a notice sent while the subscriber is disconnected is lost. So while
 * the subscription is down the cache answers nothing (every read goes to Redis), and it is emptied
 * when the subscription drops, since it may miss changes from then on.
 */
import type Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import { applyCardPatch, type CardDirectory, type CardPatch } from '../../authorise/card-directory';
import type { Card } from '../../authorise/types';
import { FunctionLibrary, loadLibrary, readLibrarySource } from './function-library';
import { connectRedis, type RedisConnectionOptions } from './redis-client';

export interface RedisCardDirectoryOptions extends RedisConnectionOptions {
  /** First part of every key and of the change channel. */
  keyPrefix?: string;
  /** Most cards cached per process (at least 1); the least recently read is dropped first. */
  cacheLimit?: number;
}

/** 100,000 cards of about 1 KB each: ~100 MB at most, the active cards of a mid-sized issuer. */
const DEFAULT_CACHE_LIMIT = 100_000;
/** A patch re-reads and retries when another writer changed the card in between; 5 rounds is plenty
 * for admin-rate writes and bounds a pathological livelock. */
const PATCH_ATTEMPTS = 5;

interface CachedCard {
  card: Card;
  version: number;
}

export class RedisCardDirectory implements CardDirectory {
  private readonly base: string;
  private readonly channel: string;
  /** lru-cache, not a Map evicting through keys().next(): see the Authoriser's recent decisions. */
  private readonly cache: LRUCache<string, CachedCard>;
  private readonly library: FunctionLibrary;
  /** Whether change notices are being received: without them the cache may be stale. */
  private subscribed = false;
  /** Counts subscription (re)starts: a load that spans one is not cached (notices may be missed). */
  private subscriptionEpoch = 0;
  /** Loads awaiting Redis: while any is, notices are remembered so a load can tell it read an old card. */
  private loadsInFlight = 0;
  /** Newest version noticed per PAN hash while loads were in flight; emptied when none is. */
  private readonly noticedDuringLoads = new Map<string, number>();

  private constructor(private readonly client: Redis, private readonly subscriber: Redis,
    options: RedisCardDirectoryOptions, source: string) {
    const prefix = options.keyPrefix ?? 'gw';
    this.base = `${prefix}:{cards}:`;
    this.channel = `${prefix}:card-changes`;
    const cacheLimit = options.cacheLimit ?? DEFAULT_CACHE_LIMIT;
    // The authorisation path reads cards from this cache synchronously: it cannot be turned off.
    if (!Number.isInteger(cacheLimit) || cacheLimit < 1) throw new RangeError(`cacheLimit must be 1 or more, not ${cacheLimit}`);
    this.cache = new LRUCache<string, CachedCard>({ max: cacheLimit });
    this.library = new FunctionLibrary(client, source);
    subscriber.on('message', (channel: string, notice: string) => {
      if (channel === this.channel) this.onChangeNotice(notice);
    });
    subscriber.on('close', () => this.onSubscriptionLost());
    // ioredis reports ready on reconnect before its own resubscription is confirmed; the cache is
    // trusted again only once our SUBSCRIBE has been answered (Redis answers in order).
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).then(() => {
        this.subscriptionEpoch += 1;
        this.subscribed = true;
      }, () => undefined);
    });
  }

  static async connect(options: RedisCardDirectoryOptions): Promise<RedisCardDirectory> {
    const source = readLibrarySource('card-library.lua');
    const client = await connectRedis({ connectionName: 'gateway-cards', ...options });
    let subscriber: Redis | undefined;
    try {
      await loadLibrary(client, source);
      subscriber = await connectRedis({ connectionName: 'gateway-card-changes', ...options });
      const directory = new RedisCardDirectory(client, subscriber, options, source);
      await subscriber.subscribe(directory.channel);
      directory.subscribed = true;
      return directory;
    } catch (error: unknown) {
      client.disconnect();
      subscriber?.disconnect();
      throw error;
    }
  }

  /** Whether change notices are arriving, so cached cards are trusted (for readiness checks). */
  isSubscribed(): boolean {
    return this.subscribed;
  }

  cached(panHash: string): Card | undefined {
    if (!this.subscribed) return undefined;
    return this.cache.get(panHash)?.card;
  }

  async load(panHash: string): Promise<Card | undefined> {
    const epoch = this.subscriptionEpoch;
    this.loadsInFlight += 1;
    let reply: unknown;
    try {
      reply = await this.library.call('gw_card_by_pan', [`${this.base}pan:${panHash}`, this.base]);
    } finally {
      this.loadsInFlight -= 1;
    }
    const noticed = this.noticedDuringLoads.get(panHash);
    if (this.loadsInFlight === 0) this.noticedDuringLoads.clear();
    if (!Array.isArray(reply) || reply.length < 2) return undefined;
    const card = parseCard(reply[0]);
    const version = Number(reply[1]);
    // Cache only what is known current: no notice of a newer version arrived during the round trip,
    // and the subscription did not restart (notices may have been lost).
    if (this.subscribed && epoch === this.subscriptionEpoch && (noticed === undefined || noticed <= version)) {
      this.remember(panHash, card, version);
    }
    return card;
  }

  async getById(cardId: string): Promise<Card | undefined> {
    const json = await this.client.hget(`${this.base}card:${cardId}`, 'j');
    return json === null ? undefined : parseCard(json);
  }

  async put(card: Card): Promise<Card> {
    const version = await this.library.call('gw_card_put', [
      `${this.base}pan:${card.panHash}`, this.base, card.cardId, card.panHash, JSON.stringify(card), this.channel,
    ]);
    if (this.subscribed) this.remember(card.panHash, card, Number(version));
    return card;
  }

  async patch(cardId: string, patch: CardPatch): Promise<Card | undefined> {
    const cardKey = `${this.base}card:${cardId}`;
    for (let attempt = 0; attempt < PATCH_ATTEMPTS; attempt += 1) {
      const [json, version] = await this.client.hmget(cardKey, 'j', 'v');
      if (json === null || version === null) return undefined;
      const updated = applyCardPatch(parseCard(json), patch);
      const result = Number(await this.library.call('gw_card_replace', [
        cardKey, this.base, version, JSON.stringify(updated), this.channel,
      ]));
      if (result === -1) return undefined;
      if (result > 0) {
        if (this.subscribed) this.remember(updated.panHash, updated, result);
        return updated;
      }
    }
    throw new Error(`card ${cardId}: changed concurrently ${PATCH_ATTEMPTS} times, patch not applied`);
  }

  async close(): Promise<void> {
    this.subscribed = false;
    this.cache.clear();
    await Promise.allSettled([this.subscriber.quit(), this.client.quit()]);
  }

  private remember(panHash: string, card: Card, version: number): void {
    const current = this.cache.peek(panHash);
    if (current !== undefined && current.version > version) return;
    this.cache.set(panHash, { card, version });
  }

  /** "<version> <cardId> <panHash>": drop an older cached copy and fetch the new one while it is hot. */
  private onChangeNotice(notice: string): void {
    const firstSpace = notice.indexOf(' ');
    const lastSpace = notice.lastIndexOf(' ');
    if (firstSpace < 0 || lastSpace <= firstSpace) return;
    // Version 0: the card left this PAN hash; newer than anything cached under it.
    const noticed = Number(notice.slice(0, firstSpace));
    const version = noticed === 0 ? Number.MAX_SAFE_INTEGER : noticed;
    const panHash = notice.slice(lastSpace + 1);
    if (this.loadsInFlight > 0) {
      this.noticedDuringLoads.set(panHash, Math.max(version, this.noticedDuringLoads.get(panHash) ?? 0));
    }
    const current = this.cache.peek(panHash);
    if (current === undefined || current.version >= version) return;
    this.cache.delete(panHash);
    if (noticed !== 0) void this.load(panHash).catch(() => undefined);
  }

  private onSubscriptionLost(): void {
    this.subscribed = false;
    this.subscriptionEpoch += 1;
    this.cache.clear();
  }
}

function parseCard(json: unknown): Card {
  const value: unknown = JSON.parse(String(json));
  if (!isCard(value)) throw new Error('card directory: a stored card does not have the card shape');
  return value;
}

function isCard(value: unknown): value is Card {
  if (typeof value !== 'object' || value === null) return false;
  const card = value as Record<string, unknown>;
  return typeof card['cardId'] === 'string' && typeof card['panHash'] === 'string'
    && typeof card['accountId'] === 'string' && typeof card['status'] === 'string'
    && typeof card['controls'] === 'object' && card['controls'] !== null
    && typeof card['limits'] === 'object' && card['limits'] !== null;
}
