/**
 * Accounts, balance postings and hold movements in Cassandra: what a shard's balances and holds are
 * rebuilt from when Redis lost them (shard-rebuild.ts) and what reconciliation compares Redis with.
 *
 * An account row holds the posted balance as the admin API last set it (`balance_as_of`); every
 * later change of the posted balance is a posting row (card postings and refunds written with their
 * decisions, admin credits and debits written here), so the balance now is the stored balance plus
 * the postings after it. Holds are the fold of their movement rows (hold-movements.ts).
 *
 * Admin writes are not on the authorisation path: they use the patient profile (write consistency,
 * long client timeout).
 */
import type { Client } from 'cassandra-driver';
import { shardOfAccount } from '../../authorise/shard-directory';
import type { Account } from '../../authorise/types';
import { patientWriteOptions, readOptions } from './client';
import { monthKeysBetween, numberOf, textOf, type CqlRow } from './cql-values';
import {
  foldBalance, foldHolds, type BalancePosting, type FoldedHold, type HoldMovement,
} from './hold-movements';
import { checkKeyspaceName } from './migrations';
import {
  MovementWriter, holdMovementFromRow, movementStatements, postingFromRow, type MovementStatements,
} from './movement-rows';
import { lookupTtlSeconds } from './options';

export interface CassandraAccountStoreOptions {
  keyspace: string;
  shardCount: number;
  holdExpiryDays: number;
}

export interface StoredAccount {
  account: Account;
  shard: number;
  /** The balance in `account` is as of this time; postings after it apply on top. */
  balanceAsOfMs: number;
}

/** An account's state as Cassandra knows it: what Redis is rebuilt to. */
export interface AccountState {
  account: Account;
  shard: number;
  /** Pending holds only (released, posted and expired ones are not loaded into Redis). */
  holds: FoldedHold[];
  pendingMinor: number;
  /** balance - pending + overdraft, as the ledger computes it. */
  availableMinor: number;
}

/** Rows read per page: an account's month of postings or a shard's accounts can exceed one page. */
const PAGE_SIZE = 1000;

export class CassandraAccountStore {
  private readonly movements: MovementWriter;
  private readonly statements: MovementStatements;
  private readonly insertAccount: string;
  private readonly selectAccount: string;
  private readonly selectShardAccounts: string;

  constructor(private readonly client: Client, private readonly options: CassandraAccountStoreOptions) {
    const ks = checkKeyspaceName(options.keyspace);
    this.statements = movementStatements(ks);
    this.movements = new MovementWriter(client, this.statements, lookupTtlSeconds(options));
    this.insertAccount = `INSERT INTO ${ks}.accounts (shard, account_id, currency, balance_minor, overdraft_minor,
      balance_as_of, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`;
    this.selectAccount = `SELECT * FROM ${ks}.accounts WHERE shard = ? AND account_id = ?`;
    this.selectShardAccounts = `SELECT * FROM ${ks}.accounts WHERE shard = ?`;
  }

  shardOf(accountId: string): number {
    return shardOfAccount(accountId, this.options.shardCount);
  }

  /** After the ledger's putAccount: the balance is now exactly this, as of asOfMs. */
  async putAccount(account: Account, asOfMs: number = Date.now()): Promise<void> {
    await this.client.execute(this.insertAccount, [
      this.shardOf(account.accountId), account.accountId, account.currency, account.balanceMinor,
      account.overdraftMinor, asOfMs, Date.now(),
    ], patientWriteOptions);
  }

  /** After the ledger's credit (a top-up); the admin idempotency key makes a retried call one posting. */
  recordCredit(accountId: string, amountMinor: number, idempotencyKey: string, atMs: number = Date.now()): Promise<void> {
    return this.writePosting({
      accountId, postingId: idempotencyKey, postedAtMs: atMs, amountMinor, kind: 'admin-credit', holdId: '',
    });
  }

  /** After the ledger's debit (a cleared transaction); with a holdId the hold is posted (consumed) too. */
  async recordDebit(accountId: string, amountMinor: number, holdId: string | undefined, idempotencyKey: string,
    atMs: number = Date.now()): Promise<void> {
    const writes: Promise<unknown>[] = [this.writePosting({
      accountId, postingId: idempotencyKey, postedAtMs: atMs, amountMinor: -amountMinor,
      kind: holdId === undefined ? 'admin-debit' : 'admin-hold-post', holdId: holdId ?? '',
    })];
    if (holdId !== undefined) {
      const ending: HoldMovement = {
        accountId, holdId, idempotencyKey, cardId: '', settlement: 'hold', deltaMinor: 0, endsAs: 'posted',
        decidedAtMs: atMs, expiresAtMs: 0, originalKey: '', rrn: '', approvalCode: '', overdrawn: false,
      };
      writes.push(this.movements.writeHold(ending, patientWriteOptions));
    }
    await Promise.all(writes);
  }

  private async writePosting(entry: BalancePosting): Promise<void> {
    await this.movements.writePosting(entry, patientWriteOptions);
  }

  async getAccount(accountId: string): Promise<StoredAccount | undefined> {
    const result = await this.client.execute(this.selectAccount, [this.shardOf(accountId), accountId], readOptions);
    const row = result.first();
    return row === null || row === undefined ? undefined : storedAccountFromRow(row);
  }

  /** Every account of a shard (one partition, paged). */
  async accountsOfShard(shard: number): Promise<StoredAccount[]> {
    const accounts: StoredAccount[] = [];
    for await (const row of this.pages(this.selectShardAccounts, [shard])) accounts.push(storedAccountFromRow(row));
    return accounts;
  }

  /** Every hold movement row of the account still kept (the lookup TTL bounds them). */
  async holdMovements(accountId: string): Promise<HoldMovement[]> {
    const rows: HoldMovement[] = [];
    for await (const row of this.pages(this.statements.selectHoldsOfAccount, [accountId])) {
      rows.push(holdMovementFromRow(row));
    }
    return rows;
  }

  /** Postings after sinceMs, reading the month partitions from sinceMs's month to nowMs's. */
  async postingsSince(accountId: string, sinceMs: number, nowMs: number): Promise<BalancePosting[]> {
    const postings: BalancePosting[] = [];
    for (const month of monthKeysBetween(sinceMs, Math.max(sinceMs, nowMs))) {
      for await (const row of this.pages(this.statements.selectPostings, [accountId, month])) {
        const entry = postingFromRow(row);
        if (entry.postedAtMs > sinceMs) postings.push(entry);
      }
    }
    return postings;
  }

  /** The account as Cassandra knows it at nowMs: stored balance plus postings, pending holds folded. */
  async accountState(stored: StoredAccount, nowMs: number = Date.now()): Promise<AccountState> {
    const accountId = stored.account.accountId;
    const [postings, movements] = await Promise.all([
      this.postingsSince(accountId, stored.balanceAsOfMs, nowMs),
      this.holdMovements(accountId),
    ]);
    const balanceMinor = foldBalance(stored.account.balanceMinor, stored.balanceAsOfMs, postings);
    const holds = foldHolds(movements, nowMs).filter((hold) => hold.status === 'pending');
    let pendingMinor = 0;
    for (const hold of holds) pendingMinor += hold.amountMinor;
    return {
      account: { ...stored.account, balanceMinor },
      shard: stored.shard,
      holds,
      pendingMinor,
      availableMinor: balanceMinor - pendingMinor + stored.account.overdraftMinor,
    };
  }

  private async *pages(query: string, params: unknown[]): AsyncGenerator<CqlRow> {
    let pageState: string | undefined;
    do {
      const options = pageState === undefined
        ? { ...readOptions, fetchSize: PAGE_SIZE }
        : { ...readOptions, fetchSize: PAGE_SIZE, pageState };
      const result = await this.client.execute(query, params, options);
      for (const row of result.rows) yield row;
      pageState = result.pageState ?? undefined;
    } while (pageState !== undefined);
  }
}

function storedAccountFromRow(row: CqlRow): StoredAccount {
  return {
    account: {
      accountId: textOf(row.get('account_id')),
      currency: textOf(row.get('currency')),
      balanceMinor: numberOf(row.get('balance_minor')),
      overdraftMinor: numberOf(row.get('overdraft_minor')),
    },
    shard: numberOf(row.get('shard')),
    balanceAsOfMs: numberOf(row.get('balance_as_of')),
  };
}
