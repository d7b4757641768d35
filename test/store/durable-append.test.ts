import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants, tmpdir } from 'node:os';
import { DurableAppender } from '../../src/store/durable-append';

function openDsync(path: string): number {
  return openSync(path, constants.O_APPEND | constants.O_CREAT | constants.O_WRONLY | constants.O_DSYNC, 0o600);
}

test('batches reach the file in order; the next half fills while one is being written', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'durable-append-')), 'log');
  const fd = openDsync(path);
  const appender = new DurableAppender(fd, 4096, (error) => assert.fail(error));
  try {
    assert.equal(appender.busy, false);
    assert.equal(appender.poll(), undefined, 'nothing in flight: nothing to report');
    let end = appender.fillBuffer.write('first batch\n', 0, 'latin1');
    appender.submit(0, end);
    assert.equal(appender.busy, true);
    // The half being written is not the one handed out now.
    const next = appender.fillBuffer;
    end = next.write('second batch\n', 0, 'latin1');
    next.fill(0x21, end);
    await appender.whenDone();
    assert.equal(appender.poll(), 0, 'the first batch is on disk');
    assert.equal(appender.busy, false);
    assert.equal(appender.poll(), undefined, 'a finished batch is reported once');
    appender.submit(0, end);
    await appender.whenDone();
    assert.equal(appender.poll(), 0);
    assert.equal(readFileSync(path, 'latin1'), 'first batch\nsecond batch\n');
  } finally {
    await appender.stop();
    closeSync(fd);
  }
});

test('a failed write reports its errno, and the thread goes on to the next batch', async () => {
  const fd = openSync('/dev/full', constants.O_WRONLY);
  const appender = new DurableAppender(fd, 4096, (error) => assert.fail(error));
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      const end = appender.fillBuffer.write('lost\n', 0, 'latin1');
      appender.submit(0, end);
      await appender.whenDone();
      assert.equal(appender.poll(), -osConstants.errno.ENOSPC);
    }
  } finally {
    await appender.stop();
    closeSync(fd);
  }
});

test('a writer thread that dies is reported once, and the appender says it has failed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'durable-append-'));
  const script = join(dir, 'failing-thread.js');
  writeFileSync(script, "throw new Error('writer thread failed on purpose');\n");
  const fd = openDsync(join(dir, 'log'));
  const failures: Error[] = [];
  const appender = new DurableAppender(fd, 4096, (error) => failures.push(error), script);
  try {
    for (let waited = 0; failures.length === 0 && waited < 5000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(failures.length, 1);
    assert.match(failures[0]!.message, /failed on purpose/);
    assert.equal(appender.failure, failures[0]);
  } finally {
    await appender.stop();
    closeSync(fd);
  }
});
