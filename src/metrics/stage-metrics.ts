/**
 * Where an authorisation's time goes, stage by stage: decode (frame read to the acceptor, which
 * includes decoding and any wait to be cut while the link was at its in-flight limit), rules, hold
 * (the ledger step), persist (the decision record made durable) and encode (response built, encoded
 * and written). Children are bound once; observing is a performance.now() difference and an observe.
 */
import type { Registry } from 'prom-client';
import { FastHistogram, type FastHistogramChild } from './fast-histogram';

/** Stage bucket edges in seconds: 10 µs to 100 ms, so sub-millisecond stages are resolved. */
const STAGE_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
  0.025, 0.05, 0.1];

export class StageMetrics {
  readonly decode: FastHistogramChild;
  readonly rules: FastHistogramChild;
  readonly hold: FastHistogramChild;
  readonly persist: FastHistogramChild;
  readonly encode: FastHistogramChild;

  constructor(registry: Registry) {
    const histogram = new FastHistogram('gateway_stage_duration_seconds',
      'Time spent in each stage of an authorisation: decode, rules, hold, persist, encode.', ['stage'],
      STAGE_BUCKETS, registry);
    this.decode = histogram.child('decode');
    this.rules = histogram.child('rules');
    this.hold = histogram.child('hold');
    this.persist = histogram.child('persist');
    this.encode = histogram.child('encode');
  }
}
