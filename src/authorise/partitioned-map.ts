/**
 * A string-keyed map split over many small Maps, for the embedded ledger's tables that grow with
 * every decision (idempotency outcomes, entries, references, an account's holds).
 *
 * Why not one Map: a V8 Map rehashes all of its entries, synchronously, each time it doubles. Timed
 * on this machine (bench/results/notes.md, fifth session), the insert that doubled a Map of string
 * keys took 25 ms at 262,144 entries, 31 ms at 524,288 and 112 ms at 1,048,576: at 20,000
 * authorisations a second the ledger crossed such a size every few seconds, and each crossing held
 * every answer in the event loop for that long. A Map also holds at most 2^24 entries, which eight
 * days of idempotency outcomes pass at about 25 authorisations a second; past it, set() throws.
 * Split over N partitions, a doubling rehashes 1/N of the entries and the limit is N times higher.
 * A map starts as one Map and splits when it first passes a few thousand entries, so the many
 * small ones (most accounts' holds) cost one Map each and list their entries oldest first.
 *
 * Each partition keeps its own insertion order, which is all the ledger's pruning needs: it walks
 * each partition from its oldest entry and stops at the first it keeps (`deleteOldestWhile`). No library
 * was found for this (lru-cache and the like bound a cache; they do not hold a table that must keep
 * every entry until its time), so it is written here, small.
 */
/** Entries kept in one Map before it is split: its rehashes stay under a millisecond (measured). */
const DEFAULT_SPLIT_ABOVE = 4_096;

export class PartitionedMap<V> {
  /** One Map until the first split, then `partitionCount` Maps chosen by the key's hash. */
  private maps: Map<string, V>[] = [new Map<string, V>()];
  private readonly partitionCount: number;
  private readonly mask: number;

  /**
   * `partitionCount`: a power of two from 1 to 65,536. `splitAbove`: the size past which the one
   * Map is split into the partitions (once; a map that stays small, such as a person's holds,
   * stays one Map). Splitting re-inserts that many entries, well under a millisecond at the default.
   */
  constructor(partitionCount: number, private readonly splitAbove = DEFAULT_SPLIT_ABOVE) {
    if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > 65_536
      || (partitionCount & (partitionCount - 1)) !== 0) {
      throw new RangeError(`partition count must be a power of two from 1 to 65536, not ${partitionCount}`);
    }
    this.partitionCount = partitionCount;
    this.mask = partitionCount - 1;
  }

  get(key: string): V | undefined {
    return this.mapOf(key).get(key);
  }

  has(key: string): boolean {
    return this.mapOf(key).has(key);
  }

  /** Like Map.set: a key already present keeps its place in its partition's order. */
  set(key: string, value: V): this {
    const map = this.mapOf(key);
    map.set(key, value);
    if (this.maps.length < this.partitionCount && map.size > this.splitAbove) this.split();
    return this;
  }

  delete(key: string): boolean {
    return this.mapOf(key).delete(key);
  }

  /** Counts every partition: for tests and metrics, not for the hot path. */
  get size(): number {
    let size = 0;
    for (const map of this.maps) size += map.size;
    return size;
  }

  /**
   * The Maps in use, each in its own insertion order: the one Map while small, the partitions after.
   * Read by the tests, which check when the map splits and how evenly keys spread.
   */
  partitions(): readonly Map<string, V>[] {
    return this.maps;
  }

  /** Every value, partition by partition (in insertion order while not yet split). */
  *values(): IterableIterator<V> {
    for (const map of this.maps) yield* map.values();
  }

  /**
   * Deletes, partition by partition and oldest first, every entry up to the first whose value is
   * not `isDue`; `onDeleted` hears each deleted key. For tables whose entries fall due in the order
   * they were set (each with the same delay): each call costs what it deletes, plus one step per
   * partition. An entry set meanwhile by onDeleted is reached later in its partition's walk.
   */
  deleteOldestWhile(isDue: (value: V) => boolean, onDeleted?: (key: string) => void): void {
    for (const map of this.maps) {
      for (const [key, value] of map) {
        if (!isDue(value)) break;
        map.delete(key);
        onDeleted?.(key);
      }
    }
  }

  private mapOf(key: string): Map<string, V> {
    const maps = this.maps;
    return maps.length === 1 ? maps[0]! : maps[this.indexOf(key)]!;
  }

  /** Moves the entries of the one Map into the partitions, oldest first, so each keeps their order. */
  private split(): void {
    const maps = Array.from({ length: this.partitionCount }, () => new Map<string, V>());
    for (const [key, value] of this.maps[0]!) maps[this.indexOf(key)]!.set(key, value);
    this.maps = maps;
  }

  /**
   * FNV-1a over every UTF-16 unit of the key, folded to the partition count. The whole key, not
   * its end: an idempotency key's end is the transmission time, the same for a second's keys (or
   * for all of them from a peer that sends a fixed DE 7); hashing only the last 8 units put
   * npm run bench:ledger's keys in one or two partitions (worst operations 12-126 ms in one run,
   * against 0.3-35 ms with the whole key). About 90 ns for a 26-unit key (measured).
   */
  private indexOf(key: string): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
    return (hash ^ (hash >>> 16)) & this.mask;
  }
}
