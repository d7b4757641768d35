/**
 * The requests the simulated scheme sends: authorisations (0100), reversals (0400) of earlier
 * authorisations, and stand-in advices (0120), for a configurable set of cards and amounts.
 */
import { IsoMessage } from '../iso8583';

export type RequestKind = 'authorisation' | 'reversal' | 'advice';

export interface TrafficMix {
  authorisation: number;
  reversal: number;
  advice: number;
}

export interface Card {
  pan: string;
  /** YYMM, DE 14. */
  expiry: string;
  /** DE 18 merchant category for this card's requests; the simulator's grocer (5411) when absent. */
  mcc?: string;
}

/**
 * The embedded default's demo cards (config/demo-seed.yaml): well-known public test PANs (Luhn-valid,
 * never issued to a cardholder), so a run after `npm start` shows an approval and each kind of
 * decline without any real card data. The gambling-blocked card shops at a betting merchant.
 */
export const DEFAULT_CARDS: readonly Card[] = [
  { pan: '5555555555554444', expiry: '3012' },
  { pan: '5200828282828210', expiry: '3012' },
  { pan: '4111111111111111', expiry: '3012' },
  { pan: '4000000000000002', expiry: '3012' },
  { pan: '5105105105105100', expiry: '3012' },
  { pan: '4012888888881881', expiry: '3012', mcc: '7995' },
  { pan: '4242424242424242', expiry: '2001' },
  { pan: '4000056655665556', expiry: '3012' },
];

export const DEFAULT_MIX: TrafficMix = { authorisation: 80, reversal: 10, advice: 10 };

/** Acquiring institution (DE 32) and the merchant the simulator pretends to be. */
const ACQUIRER_ID = '400001';
const TERMINAL_ID = 'SIMTERM1';
const MERCHANT_ID = 'SIMMERCHANT0001';
const MERCHANT_NAME_LOCATION = 'SIMULATED GROCER       LONDON       GB';
const CURRENCY_EUR = '978';
const MCC_GROCERY = '5411';

function twoDigits(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** Deterministic pseudo-random numbers (mulberry32), so a seed reproduces a run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

interface SentAuthorisation {
  stan: string;
  transmission: string;
  card: Card;
  amountMinor: string;
  rrn: string;
}

export interface TrafficOptions {
  cards: readonly Card[];
  mix: TrafficMix;
  /** Amounts are drawn uniformly from this range, in minor units. */
  amountMinorMin: number;
  amountMinorMax: number;
  random: () => number;
}

/** Makes requests with unique STANs and RRNs and remembers authorisations to reverse later. */
export class TrafficGenerator {
  private readonly options: TrafficOptions;
  private stan = 0;
  /** Recent authorisations that a reversal may refer to; bounded so a long run stays small. */
  private readonly recentAuthorisations: SentAuthorisation[] = [];

  constructor(options: TrafficOptions) {
    if (options.cards.length === 0) throw new Error('at least one card is needed');
    const total = options.mix.authorisation + options.mix.reversal + options.mix.advice;
    if (!(total > 0)) throw new Error('the traffic mix must have a positive weight');
    this.options = options;
  }

  nextStan(): string {
    this.stan = this.stan >= 999_999 ? 1 : this.stan + 1;
    return String(this.stan).padStart(6, '0');
  }

  nextKind(): RequestKind {
    const { authorisation, reversal, advice } = this.options.mix;
    const draw = this.options.random() * (authorisation + reversal + advice);
    if (draw < authorisation) return 'authorisation';
    if (draw < authorisation + reversal && this.recentAuthorisations.length > 0) return 'reversal';
    return draw < authorisation + reversal ? 'authorisation' : 'advice';
  }

  next(kind: RequestKind, now: Date): IsoMessage {
    if (kind === 'reversal') return this.reversal(now);
    const message = this.financial(kind === 'advice' ? '0120' : '0100', now);
    if (kind === 'advice') {
      // A stand-in advice reports what the scheme decided on our behalf.
      message.set(38, 'SIM001');
      message.set(39, '00');
    }
    return message;
  }

  private financial(mti: string, now: Date): IsoMessage {
    const { cards, random, amountMinorMin, amountMinorMax } = this.options;
    const card = cards[Math.floor(random() * cards.length)]!;
    const amount = amountMinorMin + Math.floor(random() * (amountMinorMax - amountMinorMin + 1));
    const stan = this.nextStan();
    const transmission = transmissionDateTime(now);
    const amountMinor = String(amount).padStart(12, '0');
    const rrn = retrievalReference(now, stan);
    const message = new IsoMessage(mti)
      .set(2, card.pan)
      .set(3, '000000')
      .set(4, amountMinor)
      .set(7, transmission)
      .set(11, stan)
      .set(12, twoDigits(now.getHours()) + twoDigits(now.getMinutes()) + twoDigits(now.getSeconds()))
      .set(13, twoDigits(now.getMonth() + 1) + twoDigits(now.getDate()))
      .set(14, card.expiry)
      .set(18, card.mcc ?? MCC_GROCERY)
      .set(22, '051')
      .set(25, '00')
      .set(32, ACQUIRER_ID)
      .set(37, rrn)
      .set(41, TERMINAL_ID)
      .set(42, MERCHANT_ID)
      .set(43, MERCHANT_NAME_LOCATION)
      .set(49, CURRENCY_EUR);
    if (mti === '0100') {
      this.recentAuthorisations.push({ stan, transmission, card, amountMinor, rrn });
      if (this.recentAuthorisations.length > 256) this.recentAuthorisations.shift();
    }
    return message;
  }

  /** A full reversal of an earlier authorisation, with DE 90 pointing at it. */
  private reversal(now: Date): IsoMessage {
    const index = Math.floor(this.options.random() * this.recentAuthorisations.length);
    const original = this.recentAuthorisations.splice(index, 1)[0]!;
    const stan = this.nextStan();
    return new IsoMessage('0400')
      .set(2, original.card.pan)
      .set(3, '000000')
      .set(4, original.amountMinor)
      .set(7, transmissionDateTime(now))
      .set(11, stan)
      .set(14, original.card.expiry)
      .set(32, ACQUIRER_ID)
      .set(37, original.rrn)
      .set(41, TERMINAL_ID)
      .set(42, MERCHANT_ID)
      .set(49, CURRENCY_EUR)
      // DE 90: original MTI, STAN, transmission date/time, acquirer and forwarding ids (n 42).
      .set(90, `0100${original.stan}${original.transmission}${ACQUIRER_ID.padStart(11, '0')}${'0'.repeat(11)}`);
  }
}

/** DE 7, MMDDhhmmss in UTC. */
export function transmissionDateTime(now: Date): string {
  return twoDigits(now.getUTCMonth() + 1) + twoDigits(now.getUTCDate()) + twoDigits(now.getUTCHours())
    + twoDigits(now.getUTCMinutes()) + twoDigits(now.getUTCSeconds());
}

/** DE 37: YDDDhh + STAN, the usual retrieval reference layout (12 characters). */
function retrievalReference(now: Date, stan: string): string {
  const startOfYear = Date.UTC(now.getUTCFullYear(), 0, 1);
  const dayOfYear = Math.floor((now.getTime() - startOfYear) / 86_400_000) + 1;
  return String(now.getUTCFullYear() % 10) + String(dayOfYear).padStart(3, '0') + twoDigits(now.getUTCHours()) + stan;
}
