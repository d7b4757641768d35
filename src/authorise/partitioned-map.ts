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
 *
 * Each partition keeps its own insertion order, which is all the ledger's pruning needs: it walks
 * each partition from its oldest entry and stops at the first it keeps (`partitions`). No library
 * was found for this (lru-cache and the like bound a cache; they do not hold a table that must keep
 * every entry until its time), so it is written here, small.
 */
export class PartitionedMap<V> {
  /** Created on first use, so a map that stays small (one account's holds) costs one Map. */
  private readonly maps: (Map<string, V> | undefined)[];
  private readonly mask: number;

  /** `partitionCount`: a power of two from 1 to 65,536. */
  constructor(partitionCount: number) {
    if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > 65_536
      || (partitionCount & (partitionCount - 1)) !== 0) {
      throw new RangeError(`partition count must be a power of two from 1 to 65536, not ${partitionCount}`);
    }
    this.maps = new Array<Map<string, V> | undefined>(partitionCount).fill(undefined);
    this.mask = partitionCount - 1;
  }

  get(key: string): V | undefined {
    return this.maps[this.indexOf(key)]?.get(key);
  }

  has(key: string): boolean {
    return this.maps[this.indexOf(key)]?.has(key) ?? false;
  }

  /** Like Map.set: a key already present keeps its place in its partition's order. */
  set(key: string, value: V): this {
    const index = this.indexOf(key);
    let map = this.maps[index];
    if (map === undefined) {
      map = new Map<string, V>();
      this.maps[index] = map;
    }
    map.set(key, value);
    return this;
  }

  delete(key: string): boolean {
    return this.maps[this.indexOf(key)]?.delete(key) ?? false;
  }

  /** Counts every partition: for tests and metrics, not for the hot path. */
  get size(): number {
    let size = 0;
    for (const map of this.maps) size += map?.size ?? 0;
    return size;
  }

  /** The partitions in use, each in its own insertion order (entries may be deleted while walking one). */
  *partitions(): IterableIterator<Map<string, V>> {
    for (const map of this.maps) if (map !== undefined) yield map;
  }

  /** Every value, partition by partition. */
  *values(): IterableIterator<V> {
    for (const map of this.maps) if (map !== undefined) yield* map.values();
  }

  /**
   * FNV-1a over every UTF-16 unit of the key, folded to the partition count. The whole key, not
   * its end: an idempotency key's end is the transmission time, the same for a second's keys (or
   * for all of them from a peer that sends a fixed DE 7), and hashing only the last 8 units put
   * npm run bench:ledger's keys in one or two partitions and its worst operation back at 160-880 ms.
   * About 90 ns for a 26-unit key (measured).
   */
  private indexOf(key: string): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
    return (hash ^ (hash >>> 16)) & this.mask;
  }
}
