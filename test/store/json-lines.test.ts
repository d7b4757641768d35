import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { readJsonLines } from '../../src/store/json-lines';

function readAll(text: string, chunkBytes: number, maxLineBytes = 1024): { values: unknown[]; endsTorn: boolean } {
  const path = join(mkdtempSync(join(tmpdir(), 'json-lines-')), 'lines.jsonl');
  writeFileSync(path, text);
  const fd = openSync(path, 'r');
  try {
    const values: unknown[] = [];
    const { endsTorn } = readJsonLines(fd, { chunkBytes, maxLineBytes }, (value) => values.push(value));
    return { values, endsTorn };
  } finally {
    closeSync(fd);
  }
}

test('every chunk size from 1 byte to past the file gives the same lines: cut lines, UTF-8 and blank lines', () => {
  // Two-, three- and four-byte characters, blank lines, and a line that is not JSON.
  const text = '{"a":"caf\u00e9"}\n\n{"b":"\u6771\u4eac"}\nnot json\n{"c":"\u{1F6D2}"}\n\n[1,2]\n';
  const expected = [{ a: 'caf\u00e9' }, { b: '\u6771\u4eac' }, undefined, { c: '\u{1F6D2}' }, [1, 2]];
  for (let chunkBytes = 1; chunkBytes <= Buffer.byteLength(text) + 3; chunkBytes++) {
    const read = readAll(text, chunkBytes);
    assert.deepEqual(read.values, expected, `chunk of ${chunkBytes} bytes`);
    assert.equal(read.endsTorn, false);
  }
});

test('a torn last line is reported and passed on as not JSON; an empty file has no lines and is not torn', () => {
  for (const chunkBytes of [1, 5, 64, 4096]) {
    assert.deepEqual(readAll('{"a":1}\n{"b":', chunkBytes), { values: [{ a: 1 }, undefined], endsTorn: true });
    assert.deepEqual(readAll('{"a":1}\n{"b":2}', chunkBytes), { values: [{ a: 1 }, { b: 2 }], endsTorn: true },
      'whole but unterminated: parsed, and still reported so the writer can end it');
  }
  assert.deepEqual(readAll('', 16), { values: [], endsTorn: false });
  // A device that never ends reports size 0: nothing is read, rather than reading for ever.
  const fd = openSync('/dev/zero', 'r');
  try {
    const values: unknown[] = [];
    assert.deepEqual(readJsonLines(fd, { chunkBytes: 16, maxLineBytes: 64 }, (value) => values.push(value)), { endsTorn: false });
    assert.deepEqual(values, []);
  } finally {
    closeSync(fd);
  }
});

test('a line longer than maxLineBytes is passed on as not JSON without being gathered, and the next line is read', () => {
  const long = `{"x":"${'y'.repeat(5000)}"}`;
  for (const chunkBytes of [7, 100, 1000, 20_000]) {
    const read = readAll(`{"a":1}\n${long}\n{"b":2}\n${long}`, chunkBytes, 1000);
    assert.deepEqual(read.values, [{ a: 1 }, undefined, { b: 2 }, undefined], `chunk of ${chunkBytes} bytes`);
    assert.equal(read.endsTorn, true);
  }
  assert.throws(() => readAll('{}\n', 0), /chunkBytes must be 1 or more/);
});
