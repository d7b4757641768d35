/**
 * A DecisionRecord as a Cassandra row and back. decisions, decisions_by_key and decisions_by_card
 * each hold the whole record, so every read is one partition and one round trip.
 *
 * Since schema version 3 the record travels as one JSON text cell, `record`, beside the row's key
 * columns. Cassandra's cost of a write grows with its cells (each is cloned into the memtable,
 * written to the commit log and later flushed), and the three copies of a record as one column per
 * field were about 70 of a decision's cells; they are 3 now (docs/persistence.md has what it saved).
 * Rows written before version 3 have one column per field and no `record`; they are still read.
 */
import type { DecisionKind, DecisionRecord } from '../../authorise/decision-log';
import { booleanOf, numberOf, textOf, type CqlRow } from './cql-values';

/**
 * Partition value for decisions without an account (unknown card, say a card-testing run): one of
 * 256 buckets by the PAN hash's first byte, so such traffic never piles into one partition a day.
 * '~' cannot start an account id (the admin API allows letters, digits and ._:-).
 */
export function decisionPartitionAccount(record: DecisionRecord): string {
  return record.accountId !== '' ? record.accountId : `~${record.panHash.slice(0, 2)}`;
}

const decisionKinds: ReadonlySet<string> = new Set<DecisionKind>([
  'authorisation', 'advice', 'reversal', 'reversal-advice', 'financial', 'financial-advice',
]);

function kindOf(value: unknown): DecisionKind {
  const kind = textOf(value);
  if (!decisionKinds.has(kind)) throw new StoredDecisionError('kind', `${JSON.stringify(kind)} is not a decision kind`);
  return kind as DecisionKind;
}

/** A record stored in Cassandra is not what this version can read: names the field and the row's key. */
export class StoredDecisionError extends Error {
  constructor(readonly field: string, detail: string) {
    super(`stored decision record: ${field} ${detail}`);
    this.name = 'StoredDecisionError';
  }
}

type FieldType = 'string' | 'number' | 'boolean';

/**
 * The `record` cell's layout, version 1: a JSON array of the format version, then every field in
 * this order. Positional rather than an object because Cassandra's cost is also in the bytes it
 * flushes and compacts, and the field names were 45% of them (676 against 370 bytes for a typical
 * approval). A new field goes at the end under a new version; readers keep reading older versions.
 */
const RECORD_FORMAT = 1;
const recordLayout = [
  ['decisionId', 'string'], ['idempotencyKey', 'string'], ['kind', 'string'], ['mti', 'string'],
  ['accountId', 'string'], ['cardId', 'string'], ['panHash', 'string'], ['panMasked', 'string'],
  ['responseCode', 'string'], ['approvalCode', 'string'], ['requestedMinor', 'number'], ['approvedMinor', 'number'],
  ['currency', 'string'], ['holdId', 'string'], ['originalKey', 'string'], ['stan', 'string'], ['rrn', 'string'],
  ['transmissionDateTime', 'string'], ['acquirerId', 'string'], ['standIn', 'boolean'], ['overdrawn', 'boolean'],
  ['receivedAtMs', 'number'], ['decidedAtMs', 'number'], ['shard', 'number'], ['fencingToken', 'number'],
] as const satisfies readonly (readonly [keyof DecisionRecord, FieldType])[];

/** Fails to compile when a DecisionRecord field is missing from the layout. */
const everyFieldLaidOut: [Exclude<keyof DecisionRecord, (typeof recordLayout)[number][0]>] extends [never] ? true : never = true;
void everyFieldLaidOut;

/** The record's one cell (layout above). */
export function decisionRecordText(record: DecisionRecord): string {
  const cell: unknown[] = [RECORD_FORMAT];
  for (const [field] of recordLayout) cell.push(record[field]);
  return JSON.stringify(cell);
}

/** The `record` cell back to a DecisionRecord: a format we know, every field with its type, a kind we know. */
export function recordFromText(text: string): DecisionRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error: unknown) {
    throw new StoredDecisionError('record', `is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!Array.isArray(parsed)) throw new StoredDecisionError('record', 'is not a JSON array');
  const stored: unknown[] = parsed;
  if (stored[0] !== RECORD_FORMAT) {
    throw new StoredDecisionError('record', `has format ${JSON.stringify(stored[0])}, this version reads ${RECORD_FORMAT}`);
  }
  if (stored.length !== recordLayout.length + 1) {
    throw new StoredDecisionError('record', `has ${stored.length - 1} fields, format ${RECORD_FORMAT} has ${recordLayout.length}`);
  }
  const record: Record<string, unknown> = {};
  recordLayout.forEach(([field, expected], index) => {
    const value = stored[index + 1];
    if (typeof value !== expected || (expected === 'number' && !Number.isFinite(value))) {
      throw new StoredDecisionError(field, `should be a ${expected}, found ${JSON.stringify(value)}`);
    }
    record[field] = value;
  });
  kindOf(record['kind']);
  return record as unknown as DecisionRecord;
}

export function recordFromRow(row: CqlRow): DecisionRecord {
  const text = row.get('record');
  if (typeof text === 'string') return recordFromText(text);
  return recordFromLegacyColumns(row);
}

function recordFromLegacyColumns(row: CqlRow): DecisionRecord {
  const accountId = textOf(row.get('account_id'));
  return {
    decisionId: textOf(row.get('decision_id')),
    idempotencyKey: textOf(row.get('idempotency_key')),
    kind: kindOf(row.get('kind')),
    mti: textOf(row.get('mti')),
    accountId: accountId.startsWith('~') ? '' : accountId,
    cardId: textOf(row.get('card_id')),
    panHash: textOf(row.get('pan_hash')),
    panMasked: textOf(row.get('pan_masked')),
    responseCode: textOf(row.get('response_code')),
    approvalCode: textOf(row.get('approval_code')),
    requestedMinor: numberOf(row.get('requested_minor')),
    approvedMinor: numberOf(row.get('approved_minor')),
    currency: textOf(row.get('currency')),
    holdId: textOf(row.get('hold_id')),
    originalKey: textOf(row.get('original_key')),
    stan: textOf(row.get('stan')),
    rrn: textOf(row.get('rrn')),
    transmissionDateTime: textOf(row.get('transmission_date_time')),
    acquirerId: textOf(row.get('acquirer_id')),
    standIn: booleanOf(row.get('stand_in')),
    overdrawn: booleanOf(row.get('overdrawn')),
    receivedAtMs: numberOf(row.get('received_at')),
    decidedAtMs: numberOf(row.get('decided_at')),
    shard: numberOf(row.get('shard')),
    fencingToken: numberOf(row.get('fencing_token')),
  };
}

export type ReferenceKind = 'stan' | 'rrn' | 'approval';

export interface DecisionReference {
  kind: ReferenceKind;
  value: string;
}

/**
 * References a later reversal may quote, for decisions that placed a hold or posted: DE 32+11+7
 * (acquirer, STAN, transmission time), DE 37 and the DE 38 we issued. Declines and reversals are never
 * the target of a reversal, so they get none (fewer rows per decision).
 */
export function referencesOf(record: DecisionRecord): DecisionReference[] {
  if (record.approvedMinor <= 0) return [];
  if (record.kind === 'reversal' || record.kind === 'reversal-advice') return [];
  const references: DecisionReference[] = [];
  if (record.acquirerId !== '' && record.stan !== '' && record.transmissionDateTime !== '') {
    references.push({ kind: 'stan', value: stanReference(record.acquirerId, record.stan, record.transmissionDateTime) });
  }
  if (record.rrn !== '') references.push({ kind: 'rrn', value: record.rrn });
  if (record.approvalCode !== '') references.push({ kind: 'approval', value: record.approvalCode });
  return references;
}

/** DE 32 + DE 11 + DE 7 as one reference value. */
export function stanReference(acquirerId: string, stan: string, transmissionDateTime: string): string {
  return `${acquirerId}:${stan}:${transmissionDateTime}`;
}
