/**
 * Loads demo accounts and cards from a YAML file under config/ (config key `seedFile`), through the
 * same checks as the admin API. Idempotent: accounts that already exist keep their balance and
 * holds, cards are replaced, so a restart of the stack profile does not reset the demo.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { CardDefaults } from '../config/schema';
import { ConfigError } from '../config/env-overrides';
import { InvalidField, parseAccountBody, parseCardBody, ID_PATTERN } from '../http/admin-validation';
import { putCard } from '../http/admin-api';
import type { StoreBackend } from './backend';
import type { PanHasher } from '../authorise/pan-protection';

export interface SeedSummary { accounts: number; cards: number }

export async function loadSeed(file: string, configDir: string, backend: StoreBackend, panHasher: PanHasher,
  cardDefaults: CardDefaults): Promise<SeedSummary> {
  const path = isAbsolute(file) ? file : join(configDir, file);
  let document: unknown;
  try {
    document = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`seedFile ${path}: ${(error as Error).message}`);
  }
  const seed = (document ?? {}) as { accounts?: unknown[]; cards?: unknown[] };
  const accounts = Array.isArray(seed.accounts) ? seed.accounts : [];
  const cards = Array.isArray(seed.cards) ? seed.cards : [];
  for (const [index, entry] of accounts.entries()) {
    const { accountId, ...fields } = (entry ?? {}) as Record<string, unknown>;
    if (typeof accountId !== 'string' || !ID_PATTERN.test(accountId)) {
      throw new ConfigError(`seedFile ${path}: accounts[${index}].accountId is missing or invalid`);
    }
    const account = parseAccountBody(fields);
    if (account instanceof InvalidField) {
      throw new ConfigError(`seedFile ${path}: accounts[${index}].${account.field} ${account.reason}`);
    }
    if (await backend.ledger.getAccount(accountId) !== undefined) continue;
    const shard = backend.shards.shardOf(accountId);
    const token = backend.shards.currentToken(shard);
    if (token === undefined) throw new Error(`seed: shard ${shard} has no live owner`);
    await backend.ledger.putAccount({ accountId, ...account }, shard, token);
  }
  for (const [index, entry] of cards.entries()) {
    const card = parseCardBody(entry, cardDefaults, true);
    if (card instanceof InvalidField) {
      throw new ConfigError(`seedFile ${path}: cards[${index}].${card.field} ${card.reason}`);
    }
    await putCard({ cards: backend.cards, panHasher }, card.pan, card);
  }
  return { accounts: accounts.length, cards: cards.length };
}
