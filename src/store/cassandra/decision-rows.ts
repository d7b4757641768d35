/**
 * A DecisionRecord as a Cassandra row and back. The same column list serves decisions,
 * decisions_by_key and decisions_by_card, which each hold the whole record so every read is one
 * partition and one round trip.
 */
import type { DecisionKind, DecisionRecord } from '../../authorise/decision-log';
import { booleanOf, numberOf, textOf, type CqlRow } from './cql-values';

/** Column order of decisionValues(); statements are built from it so the two cannot drift apart. */
export const decisionColumnNames: readonly string[] = [
  'decision_id', 'idempotency_key', 'kind', 'mti', 'account_id', 'card_id', 'pan_hash', 'pan_masked',
  'response_code', 'approval_code', 'requested_minor', 'approved_minor', 'currency', 'hold_id', 'original_key',
  'stan', 'rrn', 'transmission_date_time', 'acquirer_id', 'stand_in', 'overdrawn', 'received_at', 'decided_at',
  'shard', 'fencing_token',
];

/**
 * Partition value for decisions without an account (unknown card, say a card-testing run): one of
 * 256 buckets by the PAN hash's first byte, so such traffic never piles into one partition a day.
 * '~' cannot start an account id (the admin API allows letters, digits and ._:-).
 */
export function decisionPartitionAccount(record: DecisionRecord): string {
  return record.accountId !== '' ? record.accountId : `~${record.panHash.slice(0, 2)}`;
}

export function decisionValues(record: DecisionRecord, partitionAccount: string): unknown[] {
  return [
    record.decisionId, record.idempotencyKey, record.kind, record.mti, partitionAccount, record.cardId,
    record.panHash, record.panMasked, record.responseCode, record.approvalCode, record.requestedMinor,
    record.approvedMinor, record.currency, record.holdId, record.originalKey, record.stan, record.rrn,
    record.transmissionDateTime, record.acquirerId, record.standIn, record.overdrawn, record.receivedAtMs,
    record.decidedAtMs, record.shard, record.fencingToken,
  ];
}

const decisionKinds: ReadonlySet<string> = new Set<DecisionKind>([
  'authorisation', 'advice', 'reversal', 'reversal-advice', 'financial', 'financial-advice',
]);

function kindOf(value: unknown): DecisionKind {
  const kind = textOf(value);
  if (!decisionKinds.has(kind)) throw new Error(`unknown decision kind ${JSON.stringify(kind)} in Cassandra`);
  return kind as DecisionKind;
}

export function recordFromRow(row: CqlRow): DecisionRecord {
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
