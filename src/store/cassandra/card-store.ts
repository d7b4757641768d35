/**
 * Cards in Cassandra: the durable copy behind the Redis card directory, so cards written through
 * the admin API survive a Redis that restarted empty. Two tables, each holding the whole card so a
 * lookup is one read: by card id (admin API) and by PAN hash (authorisation on a cache miss).
 * The PAN is only ever its keyed hash and masked form; controls and limits are JSON text.
 */
import type { Client } from 'cassandra-driver';
import { applyCardPatch, type CardPatch } from '../../authorise/card-directory';
import type { Card, CardControls, CardLimits, CardStatus } from '../../authorise/types';
import { patientWriteOptions, readOptions } from './client';
import { textOf, type CqlRow } from './cql-values';
import { checkKeyspaceName } from './migrations';

const cardStatuses: ReadonlySet<string> = new Set<CardStatus>(['active', 'lost', 'stolen', 'blocked', 'closed']);

export class CassandraCardStore {
  private readonly insertById: string;
  private readonly insertByPanHash: string;
  private readonly selectById: string;
  private readonly selectByPanHash: string;
  private readonly deleteById: string;

  constructor(private readonly client: Client, keyspace: string) {
    const ks = checkKeyspaceName(keyspace);
    const columns = 'card_id, pan_hash, pan_masked, expiry, account_id, status, controls, limits, updated_at';
    this.insertById = `INSERT INTO ${ks}.cards (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
    this.insertByPanHash = `INSERT INTO ${ks}.cards_by_pan_hash (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
    this.selectById = `SELECT * FROM ${ks}.cards WHERE card_id = ?`;
    this.selectByPanHash = `SELECT * FROM ${ks}.cards_by_pan_hash WHERE pan_hash = ?`;
    this.deleteById = `DELETE FROM ${ks}.cards WHERE card_id = ?`;
  }

  /** Creates or replaces the card with this PAN hash (a reissued card id replaces the old one). */
  async put(card: Card): Promise<Card> {
    const previous = await this.getByPanHash(card.panHash);
    const values = [
      card.cardId, card.panHash, card.panMasked, card.expiry, card.accountId, card.status,
      JSON.stringify(card.controls), JSON.stringify(card.limits), Date.now(),
    ];
    const writes: Promise<unknown>[] = [
      this.client.execute(this.insertById, values, patientWriteOptions),
      this.client.execute(this.insertByPanHash, values, patientWriteOptions),
    ];
    if (previous !== undefined && previous.cardId !== card.cardId) {
      writes.push(this.client.execute(this.deleteById, [previous.cardId], patientWriteOptions));
    }
    await Promise.all(writes);
    return card;
  }

  async getById(cardId: string): Promise<Card | undefined> {
    const row = (await this.client.execute(this.selectById, [cardId], readOptions)).first();
    return row === null || row === undefined ? undefined : cardFromRow(row);
  }

  async getByPanHash(panHash: string): Promise<Card | undefined> {
    const row = (await this.client.execute(this.selectByPanHash, [panHash], readOptions)).first();
    return row === null || row === undefined ? undefined : cardFromRow(row);
  }

  async patch(cardId: string, patch: CardPatch): Promise<Card | undefined> {
    const current = await this.getById(cardId);
    if (current === undefined) return undefined;
    return this.put(applyCardPatch(current, patch));
  }
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(text === '' ? '{}' : text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`card ${what} in Cassandra is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

export function cardFromRow(row: CqlRow): Card {
  const status = textOf(row.get('status'));
  if (!cardStatuses.has(status)) throw new Error(`unknown card status ${JSON.stringify(status)} in Cassandra`);
  return {
    cardId: textOf(row.get('card_id')),
    panHash: textOf(row.get('pan_hash')),
    panMasked: textOf(row.get('pan_masked')),
    expiry: textOf(row.get('expiry')),
    accountId: textOf(row.get('account_id')),
    status: status as CardStatus,
    controls: parseJsonObject(textOf(row.get('controls')), 'controls') as unknown as CardControls,
    limits: parseJsonObject(textOf(row.get('limits')), 'limits') as unknown as CardLimits,
  };
}
