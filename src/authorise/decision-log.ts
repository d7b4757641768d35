/**
 * The durable record of every decision. An approval leaves only after its record is acknowledged
 * here (embedded: an fsync'd local file; stack: Cassandra), so nothing answered is ever lost.
 *
 * Records hold no clear PAN, track data, CVV, PIN block or EMV cryptogram: the PAN appears only as
 * its keyed hash and its masked form (first 6, last 4).
 */

export type DecisionKind =
  | 'authorisation' | 'advice' | 'reversal' | 'reversal-advice' | 'financial' | 'financial-advice';

export interface DecisionRecord {
  /** Unique id of this decision (also the hold id when it placed one). */
  decisionId: string;
  idempotencyKey: string;
  kind: DecisionKind;
  mti: string;
  accountId: string;
  cardId: string;
  panHash: string;
  panMasked: string;
  /** DE 39 answered. */
  responseCode: string;
  /** DE 38 issued on approval, else ''. */
  approvalCode: string;
  requestedMinor: number;
  approvedMinor: number;
  /** DE 49 / billing currency held in. */
  currency: string;
  holdId: string;
  /** For reversals: the original's idempotency key when matched, else ''. */
  originalKey: string;
  stan: string;
  rrn: string;
  transmissionDateTime: string;
  acquirerId: string;
  /** The answer came from the stand-in policy at the deadline, not from the rules. */
  standIn: boolean;
  /** An advice took the account below its overdraft limit. */
  overdrawn: boolean;
  receivedAtMs: number;
  decidedAtMs: number;
  shard: number;
  fencingToken: number;
}

export interface DecisionLog {
  /** Resolves once the record is durable; rejects when it could not be made durable. */
  append(record: DecisionRecord): Promise<void>;
  /**
   * Off the hot path: a record that corrects an answer already given (the 91 and the hold release
   * after an approval's record timed out). Written with the store's patient bound and retried, since
   * the hot bound is what just failed; resolves once durable, rejects when the store gives up.
   */
  appendPatiently(record: DecisionRecord): Promise<void>;
  findByIdempotencyKey(idempotencyKey: string): Promise<DecisionRecord | undefined>;
  /** Newest first. */
  recentForCard(cardId: string, limit: number): Promise<DecisionRecord[]>;
  close(): Promise<void>;
}

/**
 * Enough of a record's shape to use one read back from a file (the embedded log, the Cassandra
 * journal's segments); anything else there is a torn or foreign line.
 */
export function isDecisionRecord(value: unknown): value is DecisionRecord {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate['decisionId'] === 'string' && typeof candidate['idempotencyKey'] === 'string'
    && typeof candidate['kind'] === 'string' && typeof candidate['accountId'] === 'string'
    && typeof candidate['panHash'] === 'string' && typeof candidate['decidedAtMs'] === 'number'
    && typeof candidate['approvedMinor'] === 'number' && typeof candidate['responseCode'] === 'string';
}
