/**
 * The gateway's own view of a step, from two scrapes of its /metrics: the increase of a
 * histogram's buckets between them, and a quantile of that increase computed the way
 * Prometheus's histogram_quantile does (linear inside the bucket). Next to the generator's
 * figures it says whether time went inside the gateway's stages or before them (queueing,
 * a starved CPU, the network).
 */

/** Cumulative bucket counts by upper bound (Infinity for +Inf), per group (a label's value). */
export type BucketsByGroup = Map<string, Map<number, number>>;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} ([0-9.eE+-]+|NaN|\+Inf)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Sums `name`'s buckets across every label except `le` and `groupBy` (all into '' when absent). */
export function histogramBuckets(metricsText: string, name: string, groupBy?: string): BucketsByGroup {
  const groups: BucketsByGroup = new Map();
  const bucketName = `${name}_bucket`;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(bucketName)) continue;
    const sample = SAMPLE.exec(line);
    if (sample === null || sample[1] !== bucketName) continue;
    let le = Number.NaN;
    let group = '';
    for (const label of sample[2]!.matchAll(LABEL)) {
      if (label[1] === 'le') le = label[2] === '+Inf' ? Infinity : Number(label[2]);
      else if (label[1] === groupBy) group = label[2]!;
    }
    if (Number.isNaN(le)) continue;
    const buckets = groups.get(group) ?? new Map<number, number>();
    buckets.set(le, (buckets.get(le) ?? 0) + Number(sample[3]));
    groups.set(group, buckets);
  }
  return groups;
}

/** after - before, bucket by bucket. */
export function bucketIncrease(after: BucketsByGroup, before: BucketsByGroup): BucketsByGroup {
  const increase: BucketsByGroup = new Map();
  for (const [group, buckets] of after) {
    const earlier = before.get(group);
    const delta = new Map<number, number>();
    for (const [le, count] of buckets) delta.set(le, count - (earlier?.get(le) ?? 0));
    increase.set(group, delta);
  }
  return increase;
}

/**
 * The q-quantile (0..1) of cumulative buckets, in the buckets' unit; NaN with no observations.
 * As histogram_quantile: linear within the bucket that holds the rank, the lowest bucket starting
 * at 0, and the highest finite bound when the rank falls in +Inf.
 */
export function bucketQuantile(buckets: Map<number, number>, q: number): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (bounds.length === 0 || total <= 0) return Number.NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound)!;
    if (count >= rank) {
      if (bound === Infinity) return lowerBound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / Math.max(count - lowerCount, Number.MIN_VALUE);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
