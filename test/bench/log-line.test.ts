import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timeStandInLines } from '../../bench/log-line';

test('bench:log times stand-in warn lines with and without the gateway\'s redaction', () => {
  for (const redaction of [true, false]) {
    const result = timeStandInLines(2000, redaction);
    assert.equal(result.redaction, redaction);
    assert.equal(result.lines, 2000);
    assert.ok(result.microsPerLine > 0 && result.microsPerLine < 10_000, `${result.microsPerLine} µs a line`);
  }
});
