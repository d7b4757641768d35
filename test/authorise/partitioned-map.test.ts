import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionedMap } from '../../src/authorise/partitioned-map';

test('a partitioned map reads back what was set, forgets what was deleted, and counts every partition', () => {
  const map = new PartitionedMap<number>(64);
  for (let i = 0; i < 5000; i++) map.set(`acct-${i % 7}|rrn|${String(i).padStart(12, '0')}`, i);
  assert.equal(map.size, 5000);
  assert.equal(map.get('acct-3|rrn|000000000003'), 3);
  assert.equal(map.has('acct-3|rrn|000000000004'), false, 'i=4 went to acct-4');
  assert.equal(map.delete('acct-3|rrn|000000000003'), true);
  assert.equal(map.delete('acct-3|rrn|000000000003'), false);
  assert.equal(map.get('acct-3|rrn|000000000003'), undefined);
  assert.equal(map.size, 4999);
  assert.equal([...map.values()].reduce((sum, value) => sum + value, 0), (4999 * 5000) / 2 - 3);
  const used = map.partitions().filter((partition) => partition.size > 0);
  assert.ok(used.length > 32 && used.length <= 64, `keys spread over the partitions (${used.length} of 64 used)`);
  assert.ok(Math.max(...used.map((partition) => partition.size)) < 200, 'no partition holds a large share');
});

test('a small map stays one Map in insertion order; past splitAbove it splits, each partition keeping the order', () => {
  const map = new PartitionedMap<number>(8, 10);
  for (let i = 0; i < 10; i++) map.set(`key-${i}`, i);
  assert.equal(map.partitions().length, 1, 'ten entries: still one Map');
  assert.deepEqual([...map.values()], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  map.set('key-10', 10);
  assert.equal(map.partitions().length, 8, 'the eleventh entry splits it');
  assert.equal(map.size, 11);
  for (const partition of map.partitions()) {
    const values = [...partition.values()];
    assert.deepEqual(values, [...values].sort((a, b) => a - b), 'oldest first within a partition');
  }
  for (let i = 0; i <= 10; i++) assert.equal(map.get(`key-${i}`), i);
  assert.equal(map.delete('key-3'), true);
  assert.equal(map.has('key-3'), false);
  assert.equal(map.size, 10);
});

test('each partition keeps insertion order, and setting a present key keeps its place', () => {
  const map = new PartitionedMap<number>(4, 100);
  for (let i = 0; i < 400; i++) map.set(`key-${i}`, i);
  map.set('key-0', 1000);
  for (const partition of map.partitions()) {
    const values = [...partition.values()].map((value) => (value === 1000 ? 0 : value));
    assert.deepEqual(values, [...values].sort((a, b) => a - b), 'oldest first within a partition');
  }
  assert.equal(map.get('key-0'), 1000);
});

test('a partition count that is not a power of two from 1 to 65536 is refused', () => {
  for (const count of [0, 3, 100, 131_072, 1.5]) {
    assert.throws(() => new PartitionedMap<number>(count), RangeError, String(count));
  }
  const single = new PartitionedMap<string>(1);
  single.set('a', 'b');
  assert.equal(single.partitions().length, 1);
});

test('deleteOldestWhile deletes each partition from its oldest entry up to the first not due, and reports each key', () => {
  for (const splitAbove of [1_000, 10]) {
    const map = new PartitionedMap<number>(8, splitAbove);
    // Due times in the order they were set, but for one entry set late with an early due time.
    for (let i = 0; i < 100; i++) map.set(`key-${i}`, i);
    map.set('late-but-due', 0);
    const deleted: string[] = [];
    map.deleteOldestWhile((dueAt) => dueAt < 50, (key) => deleted.push(key));
    assert.deepEqual(deleted.filter((key) => key !== 'late-but-due').sort(),
      Array.from({ length: 50 }, (_, i) => `key-${i}`).sort(), `split above ${splitAbove}`);
    assert.equal(map.has('late-but-due'), true, 'behind an entry not yet due, it waits for a later call');
    assert.equal(map.size, 51);
    map.deleteOldestWhile(() => true);
    assert.equal(map.size, 0);
  }
});
