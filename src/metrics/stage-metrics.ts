/**
 * Where an authorisation's time goes, stage by stage: decode (frame cut to the acceptor, which
 * includes decoding and any queueing behind backpressure), rules, hold (the ledger step), persist
 * (the decision record made durable) and encode (response built, encoded and written). Children are
 * bound once; observing is a performance.now() difference and an observe.
 */
import { Histogram, type Registry } from 'prom-client';

/** Stage bucket edges in seconds: 10 µs to 100 ms, so sub-millisecond stages are resolved. */
const STAGE_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
  0.025, 0.05, 0.1];

export class StageMetrics {
  readonly decode: Histogram.Internal<'stage'>;
  readonly rules: Histogram.Internal<'stage'>;
  readonly hold: Histogram.Internal<'stage'>;
  readonly persist: Histogram.Internal<'stage'>;
  readonly encode: Histogram.Internal<'stage'>;

  constructor(registry: Registry) {
    const histogram = new Histogram({
      name: 'gateway_stage_duration_seconds',
      help: 'Time spent in each stage of an authorisation: decode, rules, hold, persist, encode.',
      labelNames: ['stage'],
      buckets: STAGE_BUCKETS,
      registers: [registry],
    });
    this.decode = histogram.labels('decode');
    this.rules = histogram.labels('rules');
    this.hold = histogram.labels('hold');
    this.persist = histogram.labels('persist');
    this.encode = histogram.labels('encode');
  }
}
