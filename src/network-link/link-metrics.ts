/**
 * Prometheus metrics of the links.
 *
 * prom-client hashes the label set on every inc() even on a bound child, which would cost several
 * string builds per message. So the hot path only bumps plain numbers in a Float64Array per link,
 * and each metric family's collect() hook (run by prom-client at scrape time) moves the increase
 * since the last scrape into label children that were bound once, when the link started.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Why a connection closed; a fixed set so the label stays bounded. */
export const CLOSE_REASONS = [
  'peer_closed', 'peer_reset', 'socket_error', 'idle_timeout', 'frame_timeout', 'invalid_length', 'frame_too_large',
  'echo_unanswered', 'sign_on_failed', 'drained', 'drain_timeout', 'connections_max', 'tls_refused',
] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** Why the link answered a financial request itself instead of passing it to the acceptor. */
export const REFUSAL_REASONS = ['format_error', 'not_signed_on', 'draining', 'handler_failed'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Indexes into LinkMetrics.counts: monotonically increasing tallies. */
export const Tally = {
  framesIn: 0,
  framesOut: 1,
  bytesIn: 2,
  bytesOut: 3,
  requests: 4,
  decodeErrors: 5,
  droppedFrames: 6,
  lateResponses: 7,
  unknownResponses: 8,
  duplicateResponds: 9,
  respondsAfterClose: 10,
  keepAlives: 11,
  reconnects: 12,
} as const;
const REFUSAL_BASE = 13;
const CLOSE_BASE = REFUSAL_BASE + REFUSAL_REASONS.length;
const TALLY_SLOTS = CLOSE_BASE + CLOSE_REASONS.length;

/** Indexes into LinkMetrics.levels: values that go up and down. */
export const Level = { up: 0, connections: 1, signedOn: 2, inflight: 3 } as const;
const LEVEL_SLOTS = 4;

type Series = readonly [slot: number, labels: Record<string, string>];

interface CounterFamily {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly series: readonly Series[];
}

const COUNTER_FAMILIES: readonly CounterFamily[] = [
  {
    name: 'iso_link_frames_total', help: 'Frames read (in) and written (out), keep-alives included.',
    labelNames: ['direction'], series: [[Tally.framesIn, { direction: 'in' }], [Tally.framesOut, { direction: 'out' }]],
  },
  {
    name: 'iso_link_bytes_total', help: 'Bytes read (in) and written (out), length fields included.',
    labelNames: ['direction'], series: [[Tally.bytesIn, { direction: 'in' }], [Tally.bytesOut, { direction: 'out' }]],
  },
  { name: 'iso_link_requests_total', help: 'Financial requests passed to the acceptor.', labelNames: [], series: [[Tally.requests, {}]] },
  { name: 'iso_link_decode_errors_total', help: 'Frames that did not decode in the link dialect.', labelNames: [], series: [[Tally.decodeErrors, {}]] },
  {
    name: 'iso_link_dropped_frames_total',
    help: 'Frames dropped unanswered: not even MTI and DE 11 readable, or a zero-length frame on a framing without keep-alives.',
    labelNames: [], series: [[Tally.droppedFrames, {}]],
  },
  {
    name: 'iso_link_unmatched_responses_total',
    help: 'Responses matching no request we originated: late (after its timeout) or unknown.',
    labelNames: ['kind'], series: [[Tally.lateResponses, { kind: 'late' }], [Tally.unknownResponses, { kind: 'unknown' }]],
  },
  { name: 'iso_link_duplicate_responds_total', help: 'Second respond() calls on one exchange, ignored.', labelNames: [], series: [[Tally.duplicateResponds, {}]] },
  { name: 'iso_link_responds_after_close_total', help: 'Responses dropped because their connection had closed.', labelNames: [], series: [[Tally.respondsAfterClose, {}]] },
  { name: 'iso_link_keepalives_total', help: 'Zero-length keep-alive frames received.', labelNames: [], series: [[Tally.keepAlives, {}]] },
  { name: 'iso_link_reconnects_total', help: 'Client-mode connection attempts after the first.', labelNames: [], series: [[Tally.reconnects, {}]] },
  {
    name: 'iso_link_refusals_total', help: 'Financial requests the link answered itself, by reason.',
    labelNames: ['reason'], series: REFUSAL_REASONS.map((reason, index) => [REFUSAL_BASE + index, { reason }] as const),
  },
  {
    name: 'iso_link_connection_closes_total', help: 'Connections closed (or refused at the TLS handshake), by reason.',
    labelNames: ['reason'], series: CLOSE_REASONS.map((reason, index) => [CLOSE_BASE + index, { reason }] as const),
  },
];

const GAUGE_FAMILIES: ReadonlyArray<readonly [slot: number, name: string, help: string]> = [
  [Level.up, 'iso_link_up', '1 while the link listens (server mode) or has a connection (client mode).'],
  [Level.connections, 'iso_link_connections', 'Open connections on the link.'],
  [Level.signedOn, 'iso_link_signed_on', 'Connections of the link that are signed on.'],
  [Level.inflight, 'iso_link_inflight', 'Requests passed to the acceptor and not yet answered.'],
];

interface RegistryLinks {
  readonly links: Set<LinkMetrics>;
  readonly counters: Counter[];
  readonly gauges: Gauge[];
  readonly originatedRoundTrip: Histogram;
}

const byRegistry = new WeakMap<Registry, RegistryLinks>();

function familiesFor(registry: Registry): RegistryLinks {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const links = new Set<LinkMetrics>();
  const registers = [registry];
  const counters = COUNTER_FAMILIES.map((family, familyIndex) => new Counter({
    name: family.name,
    help: family.help,
    labelNames: ['link', ...family.labelNames],
    registers,
    collect() {
      for (const link of links) link.flushCounters(familyIndex);
    },
  }));
  const gauges = GAUGE_FAMILIES.map(([slot, name, help]) => new Gauge({
    name,
    help,
    labelNames: ['link'],
    registers,
    collect() {
      for (const link of links) link.flushLevel(slot);
    },
  }));
  const originatedRoundTrip = new Histogram({
    name: 'iso_link_originated_round_trip_seconds',
    help: 'Round trip of network management requests we originate (sign-on, echo, sign-off).',
    labelNames: ['link'],
    // Echoes on a healthy link take milliseconds; the top buckets catch a struggling scheme.
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const created = { links, counters, gauges, originatedRoundTrip };
  byRegistry.set(registry, created);
  return created;
}

/** One link's tallies and its label children, bound once. */
export class LinkMetrics {
  /** Hot-path tallies, indexed by Tally (and by refusal and close reason). */
  readonly counts = new Float64Array(TALLY_SLOTS);
  /** Current values, indexed by Level. */
  readonly levels = new Float64Array(LEVEL_SLOTS);
  private readonly reported = new Float64Array(TALLY_SLOTS);
  /** Counter children by tally slot. */
  private readonly counterChildren: Counter.Internal[] = new Array<Counter.Internal>(TALLY_SLOTS);
  private readonly gaugeChildren: Gauge.Internal<string>[] = new Array<Gauge.Internal<string>>(LEVEL_SLOTS);
  private readonly roundTripChild: Histogram.Internal<string>;

  constructor(registry: Registry, linkName: string) {
    const families = familiesFor(registry);
    COUNTER_FAMILIES.forEach((family, familyIndex) => {
      for (const [slot, labels] of family.series) {
        this.counterChildren[slot] = families.counters[familyIndex]!.labels({ link: linkName, ...labels });
      }
    });
    GAUGE_FAMILIES.forEach(([slot], familyIndex) => {
      this.gaugeChildren[slot] = families.gauges[familyIndex]!.labels({ link: linkName });
    });
    this.roundTripChild = families.originatedRoundTrip.labels({ link: linkName });
    families.links.add(this);
  }

  refused(reason: RefusalReason): void {
    this.counts[REFUSAL_BASE + REFUSAL_REASONS.indexOf(reason)]! += 1;
  }

  closed(reason: CloseReason): void {
    this.counts[CLOSE_BASE + CLOSE_REASONS.indexOf(reason)]! += 1;
  }

  refusalCount(reason: RefusalReason): number {
    return this.counts[REFUSAL_BASE + REFUSAL_REASONS.indexOf(reason)]!;
  }

  closeCount(reason: CloseReason): number {
    return this.counts[CLOSE_BASE + CLOSE_REASONS.indexOf(reason)]!;
  }

  observeOriginatedRoundTrip(milliseconds: number): void {
    this.roundTripChild.observe(milliseconds / 1000);
  }

  /** @internal called from the family's collect() at scrape time. */
  flushCounters(familyIndex: number): void {
    for (const [slot] of COUNTER_FAMILIES[familyIndex]!.series) {
      const increase = this.counts[slot]! - this.reported[slot]!;
      // inc(0) still creates the series, so a link shows every counter from its first scrape.
      this.counterChildren[slot]!.inc(increase);
      this.reported[slot] = this.counts[slot]!;
    }
  }

  /** @internal */
  flushLevel(slot: number): void {
    this.gaugeChildren[slot]!.set(this.levels[slot]!);
  }
}
