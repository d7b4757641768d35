/**
 * Framed request bytes for the load generator, built with the project's codec once per step and
 * patched per request: the send loop copies a template and overwrites the fixed-length digits of
 * DE 4 (amount), DE 7 (transmission time), DE 11 (STAN), DE 37 (RRN) and, on reversals, the
 * original's STAN and DE 7 inside DE 90. No message object and no encode per request, so the
 * generator leaves the shared cores to the gateway.
 *
 * Where each field sits is found by encoding a template twice with one field changed and
 * comparing the bytes, so the offsets come from the dialect itself rather than from counting.
 */
import { encode, encodeOriginalDataElements, IsoMessage, type Dialect } from '../../src/iso8583';
import type { Framing } from '../../src/network-link/framing';
import type { CardCase, RequestPlan } from './request-mix';

/** DE 32 of every request: the acquirer the generator pretends to be. */
export const BENCH_ACQUIRER_ID = '400002';
const TERMINAL_ID = 'LOADGEN1';
const MERCHANT_ID = 'LOADGENMERCH001';
const CURRENCY_GBP = '826';

/** STANs run 1..999999 (DE 11 is n6); request i has STAN (i % STAN_SPACE) + 1. */
export const STAN_SPACE = 999_999;

export function stanOf(index: number): number {
  return (index % STAN_SPACE) + 1;
}

interface FieldValues {
  amount: string;
  transmission: string;
  stan: string;
  rrn: string;
  originalStan: string;
  originalTransmission: string;
}

type Patchable = keyof FieldValues;

/** Byte offsets (in the framed template) of each patchable field, -1 when the template lacks it. */
export type FieldOffsets = Record<Patchable, number>;

export interface FrameTemplate {
  readonly bytes: Buffer;
  readonly offsets: FieldOffsets;
}

const WIDTHS: Record<Patchable, number> = {
  amount: 12, transmission: 10, stan: 6, rrn: 12, originalStan: 6, originalTransmission: 10,
};

const ZEROS: FieldValues = {
  amount: '0'.repeat(12), transmission: '0'.repeat(10), stan: '0'.repeat(6), rrn: '0'.repeat(12),
  originalStan: '0'.repeat(6), originalTransmission: '0'.repeat(10),
};

/** The fields an authorisation and its reversal share. */
function requestMessage(mti: string, card: CardCase, values: FieldValues): IsoMessage {
  return new IsoMessage(mti)
    .set(2, card.pan)
    .set(3, '000000')
    .set(4, values.amount)
    .set(7, values.transmission)
    .set(11, values.stan)
    .set(14, card.expiry)
    .set(32, BENCH_ACQUIRER_ID)
    .set(37, values.rrn)
    .set(41, TERMINAL_ID)
    .set(42, MERCHANT_ID)
    .set(49, CURRENCY_GBP);
}

function authorisationMessage(card: CardCase, values: FieldValues): IsoMessage {
  return requestMessage('0100', card, values).set(18, card.mcc).set(22, '051');
}

/** A full reversal of an authorisation of `card`, DE 90 naming the original. */
function reversalMessage(card: CardCase, values: FieldValues): IsoMessage {
  return requestMessage('0400', card, values)
    .set(90, encodeOriginalDataElements({
      originalMti: '0100', originalStan: values.originalStan,
      originalTransmissionDateTime: values.originalTransmission,
      acquiringInstitutionId: BENCH_ACQUIRER_ID, forwardingInstitutionId: '',
    }));
}

function framed(dialect: Dialect, framing: Framing, message: IsoMessage): Buffer {
  const body = encode(dialect, message);
  const frame = Buffer.alloc(framing.lengthFieldBytes + body.length);
  framing.writeLength(frame, 0, body.length);
  body.copy(frame, framing.lengthFieldBytes);
  return frame;
}

/** Encodes the template with zeros, then once per field with that field all ones, and diffs. */
export function buildTemplate(dialect: Dialect, framing: Framing,
  build: (values: FieldValues) => IsoMessage, fields: readonly Patchable[]): FrameTemplate {
  const bytes = framed(dialect, framing, build(ZEROS));
  const offsets: FieldOffsets = { amount: -1, transmission: -1, stan: -1, rrn: -1, originalStan: -1, originalTransmission: -1 };
  for (const field of fields) {
    const changed = framed(dialect, framing, build({ ...ZEROS, [field]: '1'.repeat(WIDTHS[field]) }));
    if (changed.length !== bytes.length) {
      throw new Error(`load generator: ${field} is not a fixed-length field in dialect ${dialect.name}`);
    }
    let first = -1;
    let differing = 0;
    for (let at = 0; at < bytes.length; at++) {
      if (bytes[at] === changed[at]) continue;
      if (first === -1) first = at;
      differing += 1;
    }
    // Only a plain ASCII digit field can be patched byte for byte; BCD or EBCDIC dialects cannot.
    if (differing !== WIDTHS[field] || changed[first] !== 0x31) {
      throw new Error(`load generator: ${field} is not ${WIDTHS[field]} ASCII digits in dialect ${dialect.name}`);
    }
    offsets[field] = first;
  }
  return { bytes, offsets };
}

/** Writes `value` as `width` zero-padded ASCII digits at `offset`; digits above the width are dropped. */
export function writeDigits(target: Buffer, offset: number, width: number, value: number): void {
  let rest = value;
  for (let at = offset + width - 1; at >= offset; at--) {
    target[at] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
}

export interface FrameWriterOptions {
  dialect: Dialect;
  framing: Framing;
  cards: readonly CardCase[];
  plan: RequestPlan;
  /** Two digits that make this step's RRNs differ from other steps'. */
  stepTag: number;
  /** DE 7 text of each second of the step, 10 ASCII bytes apiece (see transmissionTable). */
  transmissions: Buffer;
  /** Second (index into transmissions) of request i. */
  secondOf: (index: number) => number;
}

/** Writes request i of a plan into a buffer, as the bytes that go on the wire. */
export class RequestFrameWriter {
  private readonly authorisations: FrameTemplate[];
  private readonly reversal: FrameTemplate;
  private readonly options: FrameWriterOptions;
  readonly largestFrameBytes: number;

  constructor(options: FrameWriterOptions) {
    this.options = options;
    const all: Patchable[] = ['amount', 'transmission', 'stan', 'rrn'];
    this.authorisations = options.cards.map((card) =>
      buildTemplate(options.dialect, options.framing, (values) => authorisationMessage(card, values), all));
    this.reversal = buildTemplate(options.dialect, options.framing,
      (values) => reversalMessage(options.cards[0]!, values), [...all, 'originalStan', 'originalTransmission']);
    this.largestFrameBytes = Math.max(this.reversal.bytes.length, ...this.authorisations.map((t) => t.bytes.length));
  }

  /** Writes request `index` at target[offset]; returns the bytes written. */
  write(index: number, target: Buffer, offset: number): number {
    const { plan } = this.options;
    const kind = plan.kinds[index]!;
    if (kind < this.authorisations.length) return this.writeAuthorisation(index, target, offset);
    const original = plan.references[index]!;
    if (kind === this.authorisations.length) {
      const template = this.reversal;
      template.bytes.copy(target, offset);
      this.patchCommon(template.offsets, target, offset, index, original);
      const o = template.offsets;
      writeDigits(target, offset + o.originalStan, 6, stanOf(original));
      this.options.transmissions.copy(target, offset + o.originalTransmission,
        this.options.secondOf(original) * 10, this.options.secondOf(original) * 10 + 10);
      return template.bytes.length;
    }
    // A retransmission is the original's bytes exactly: same DE 32 + DE 11 + DE 7.
    return this.writeAuthorisation(original, target, offset);
  }

  private writeAuthorisation(index: number, target: Buffer, offset: number): number {
    const template = this.authorisations[this.options.plan.kinds[index]!]!;
    template.bytes.copy(target, offset);
    this.patchCommon(template.offsets, target, offset, index, index);
    return template.bytes.length;
  }

  /** Amount, DE 7 and STAN of `index`; the RRN of `rrnIndex` (a reversal carries its original's). */
  private patchCommon(o: FieldOffsets, target: Buffer, offset: number, index: number, rrnIndex: number): void {
    writeDigits(target, offset + o.amount, 12, this.options.plan.amounts[index]!);
    const second = this.options.secondOf(index);
    this.options.transmissions.copy(target, offset + o.transmission, second * 10, second * 10 + 10);
    writeDigits(target, offset + o.stan, 6, stanOf(index));
    writeDigits(target, offset + o.rrn, 2, this.options.stepTag);
    writeDigits(target, offset + o.rrn + 2, 10, rrnIndex);
  }
}

function twoDigits(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** DE 7 (MMDDhhmmss, UTC) of `seconds` consecutive seconds from `fromEpochMs`, 10 bytes each. */
export function transmissionTable(fromEpochMs: number, seconds: number): Buffer {
  const table = Buffer.alloc(seconds * 10);
  for (let second = 0; second < seconds; second++) {
    const at = new Date(fromEpochMs + second * 1000);
    table.write(twoDigits(at.getUTCMonth() + 1) + twoDigits(at.getUTCDate()) + twoDigits(at.getUTCHours())
      + twoDigits(at.getUTCMinutes()) + twoDigits(at.getUTCSeconds()), second * 10, 'latin1');
  }
  return table;
}

/** An 0800 network management request (sign-on 001, echo 301), framed. */
export function networkRequestFrame(dialect: Dialect, framing: Framing, code: string, stan: string): Buffer {
  const now = new Date();
  const message = new IsoMessage('0800')
    .set(7, twoDigits(now.getUTCMonth() + 1) + twoDigits(now.getUTCDate()) + twoDigits(now.getUTCHours())
      + twoDigits(now.getUTCMinutes()) + twoDigits(now.getUTCSeconds()))
    .set(11, stan)
    .set(70, code);
  return framed(dialect, framing, message);
}

/** Our 0810 answer to a network management request the gateway sends us (its echo test). */
export function networkResponseFrame(dialect: Dialect, framing: Framing, request: IsoMessage): Buffer {
  const response = new IsoMessage('0810');
  for (const de of [7, 11, 70]) {
    const value = request.getString(de);
    if (value !== undefined) response.set(de, value);
  }
  response.set(39, '00');
  return framed(dialect, framing, response);
}
