// npm run bench:ledger end to end, small: one JSON line per checkpoint, with every operation answered
// 00 (the bench throws otherwise) and the ledger's tables holding what the operations left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

test('the ledger bench prints a checkpoint line whose figures follow from the operations it ran', () => {
  const script = join(__dirname, '..', '..', 'bench', 'ledger.js');
  const output = execFileSync(process.execPath, ['--expose-gc', script, '--operations', '4000'], { encoding: 'utf8' });
  const lines = output.trim().split('\n').map((line) => JSON.parse(line) as {
    operations: number; opsPerSec: number; worstOpMs: number; opsOver1Ms: number; heapBytesPerOperation: number;
    footprint: { outcomes: number; entries: number; references: number };
  });
  assert.equal(lines.length, 1);
  const [line] = lines;
  assert.equal(line!.operations, 4000);
  assert.ok(line!.opsPerSec > 0 && line!.worstOpMs > 0);
  // An authorisation keeps an outcome, an entry, a hold and two references: hundreds of bytes.
  assert.ok(line!.heapBytesPerOperation > 100 && line!.heapBytesPerOperation < 10_000, String(line!.heapBytesPerOperation));
  // After the first 800, every eighth operation is a reversal: 400 of 4,000. Each authorisation
  // leaves an entry and two references (RRN and approval code); a reversal leaves only its outcome.
  assert.equal(line!.footprint.outcomes, 4000);
  assert.equal(line!.footprint.entries, 3600);
  assert.equal(line!.footprint.references, 7200);
  assert.throws(() => execFileSync(process.execPath, [script, '--operations', '0'], { stdio: 'pipe' }));
});
