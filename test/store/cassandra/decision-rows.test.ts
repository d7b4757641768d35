// The decision record's JSON cell (schema version 3) and back, without a Cassandra node: every field
// survives the round trip, and a stored record this version cannot read is refused with an error
// naming the field, never returned half-filled.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  StoredDecisionError, decisionRecordText, recordFromRow, recordFromText,
} from '../../../src/store/cassandra/decision-rows';
import { decisionRecord, testPans } from './support';

describe('decision record cell', () => {
  it('reads back every field of a record as written, through a row with a record cell', () => {
    const record = decisionRecord(testPans[0] as string, {
      kind: 'reversal-advice', standIn: true, overdrawn: true, accountId: '', fencingToken: 2 ** 40, shard: -1,
    });
    const text = decisionRecordText(record);
    assert.deepEqual(recordFromText(text), record);
    const row = { get: (column: string): unknown => (column === 'record' ? text : null) };
    assert.deepEqual(recordFromRow(row), record);
  });

  it('stores the fields by position after a format number, without their names', () => {
    const record = decisionRecord(testPans[0] as string);
    const stored: unknown = JSON.parse(decisionRecordText(record));
    assert.ok(Array.isArray(stored));
    assert.equal(stored[0], 1);
    assert.equal(stored.length, Object.keys(record).length + 1);
    assert.ok(!decisionRecordText(record).includes('idempotencyKey'));
  });

  it('refuses a record with a field of the wrong type, a field too few or an unknown kind, naming the field', () => {
    const record = decisionRecord(testPans[1] as string);
    const stored = JSON.parse(decisionRecordText(record)) as unknown[];
    const withField = (index: number, value: unknown): string => {
      const copy = [...stored];
      copy[index] = value;
      return JSON.stringify(copy);
    };
    // Positions: 0 format, 1 decisionId, 3 kind, 9 responseCode, 12 approvedMinor, 20 standIn.
    assert.throws(() => recordFromText(withField(12, '1234')),
      (error: unknown) => error instanceof StoredDecisionError && error.field === 'approvedMinor'
        && /should be a number, found "1234"/.test(error.message));
    assert.throws(() => recordFromText(withField(9, 0)),
      (error: unknown) => error instanceof StoredDecisionError && error.field === 'responseCode');
    assert.throws(() => recordFromText(withField(20, 'yes')),
      (error: unknown) => error instanceof StoredDecisionError && error.field === 'standIn');
    assert.throws(() => recordFromText(withField(3, 'refund')),
      (error: unknown) => error instanceof StoredDecisionError && error.field === 'kind');
    assert.throws(() => recordFromText(JSON.stringify(stored.slice(0, -1))),
      (error: unknown) => error instanceof StoredDecisionError && /has 24 fields, format 1 has 25/.test(error.message));
    assert.throws(() => recordFromText(withField(0, 2)),
      (error: unknown) => error instanceof StoredDecisionError && /format 2, this version reads 1/.test(error.message));
  });

  it('refuses a cell that is not a JSON array', () => {
    for (const text of ['[1,"decision', '{"decisionId":"x"}', 'null', '"text"']) {
      assert.throws(() => recordFromText(text),
        (error: unknown) => error instanceof StoredDecisionError && error.field === 'record', text);
    }
  });
});
