/**
 * What the load generator sends: a weighted mix of authorisations that approve and that decline
 * for each reason the demo seed can show (config/demo-seed.yaml, docs/rules.md), reversals of
 * earlier approvals, and retransmissions (duplicates) of earlier requests.
 *
 * The whole step is planned before its clock starts (TigerBeetle's benchmark does the same): one
 * byte of kind, one amount and one reference per request in typed arrays, so the send loop only
 * reads numbers and copies bytes.
 */
import { seededRandom } from '../../src/simulator/traffic';

/** An authorisation (0100) for one demo card and the DE 39 the seed makes it answer. */
export interface CardCase {
  readonly name: string;
  readonly pan: string;
  /** DE 14, YYMM. */
  readonly expiry: string;
  /** DE 18 merchant category. */
  readonly mcc: string;
  readonly amountMinorMin: number;
  readonly amountMinorMax: number;
  readonly expectedResponseCode: string;
}

export interface RequestMix {
  /** Authorisation cases with their weights. */
  readonly cards: ReadonlyArray<readonly [CardCase, number]>;
  /** Weight of full reversals (0400) of an earlier approval. */
  readonly reversal: number;
  /** Weight of retransmissions: the same bytes as an earlier request, on another connection. */
  readonly duplicate: number;
}

const APPROVE: CardCase = {
  // Amounts of at most 0.99 keep a long run inside the demo account's 1,000,000.00: 40k/s for
  // 60 s at 62 % approvals and 0.50 on average holds under 750,000.00.
  name: 'approve', pan: '5555555555554444', expiry: '3012', mcc: '5411',
  amountMinorMin: 1, amountMinorMax: 99, expectedResponseCode: '00',
};

/** The demo seed's cards, one case per answer they give (docs/rules.md, config/demo-seed.yaml). */
export const DEMO_CARD_CASES: readonly CardCase[] = [
  APPROVE,
  // acct-demo-low holds 5.00: 10.00 and more always declines for funds, and never holds.
  { name: 'insufficient-funds', pan: '5200828282828210', expiry: '3012', mcc: '5411',
    amountMinorMin: 1000, amountMinorMax: 5000, expectedResponseCode: '51' },
  { name: 'lost-card', pan: '4111111111111111', expiry: '3012', mcc: '5411',
    amountMinorMin: 100, amountMinorMax: 2000, expectedResponseCode: '41' },
  { name: 'stolen-card', pan: '4000000000000002', expiry: '3012', mcc: '5411',
    amountMinorMin: 100, amountMinorMax: 2000, expectedResponseCode: '43' },
  { name: 'frozen-card', pan: '5105105105105100', expiry: '3012', mcc: '5411',
    amountMinorMin: 100, amountMinorMax: 2000, expectedResponseCode: '62' },
  { name: 'gambling-block', pan: '4012888888881881', expiry: '3012', mcc: '7995',
    amountMinorMin: 100, amountMinorMax: 2000, expectedResponseCode: '57' },
  { name: 'expired-card', pan: '4242424242424242', expiry: '2001', mcc: '5411',
    amountMinorMin: 100, amountMinorMax: 2000, expectedResponseCode: '54' },
  // A Luhn-valid public test PAN that the seed does not hold.
  { name: 'unknown-card', pan: '4000056655665556', expiry: '3012', mcc: '5411',
    amountMinorMin: 100, amountMinorMax: 2000, expectedResponseCode: '14' },
];

/**
 * Mostly approvals, as on a real issuer, with every decline reason present, a reversal for about
 * one approval in five and far more retransmissions than a healthy scheme sends, so that the
 * replay path carries real load.
 */
export const DEFAULT_MIX: RequestMix = {
  cards: [
    [DEMO_CARD_CASES[0]!, 62], [DEMO_CARD_CASES[1]!, 6], [DEMO_CARD_CASES[2]!, 3], [DEMO_CARD_CASES[3]!, 2],
    [DEMO_CARD_CASES[4]!, 2], [DEMO_CARD_CASES[5]!, 2], [DEMO_CARD_CASES[6]!, 1], [DEMO_CARD_CASES[7]!, 1],
  ],
  reversal: 12,
  duplicate: 9,
};

/** Kind codes in RequestPlan.kinds: card cases are 0..cards-1, then these two. */
export function reversalKind(mix: RequestMix): number {
  return mix.cards.length;
}
export function duplicateKind(mix: RequestMix): number {
  return mix.cards.length + 1;
}

export interface PlanOptions {
  mix: RequestMix;
  count: number;
  connections: number;
  /**
   * How far back (in requests) a reversal or a duplicate refers: far enough that the original was
   * normally answered already, as with a real reversal or a scheme's timeout retransmission.
   */
  referenceLag: number;
  seed: number;
}

/** Every request of one step, by index. Request i goes on connection i % connections. */
export interface RequestPlan {
  readonly count: number;
  readonly connections: number;
  /** Card case index, or reversalKind / duplicateKind. */
  readonly kinds: Uint8Array;
  /** Amount in minor units (for a reversal: the original's, for a duplicate: unused). */
  readonly amounts: Uint32Array;
  /** The original's index for reversals and duplicates, else -1. */
  readonly references: Int32Array;
  /** DE 39 each request should get (index into expectedCodes). */
  readonly expected: Uint8Array;
  readonly expectedCodes: readonly string[];
}

/** How many of each kind a plan holds; tests and the report use it. */
export function countKinds(plan: RequestPlan, kindCount: number): number[] {
  const counts = new Array<number>(kindCount).fill(0);
  for (let index = 0; index < plan.count; index++) counts[plan.kinds[index]!]! += 1;
  return counts;
}

export function buildPlan(options: PlanOptions): RequestPlan {
  const { mix, count, connections } = options;
  if (mix.cards.length === 0 || mix.cards.length > 200) throw new Error('the mix needs 1 to 200 card cases');
  if (mix.cards[0]![0].expectedResponseCode !== '00') throw new Error('the first card case must approve (reversals need approvals)');
  if (!(options.referenceLag >= 1)) throw new Error('referenceLag must be at least 1');
  const random = seededRandom(options.seed);
  const weights = [...mix.cards.map(([, weight]) => weight), mix.reversal, connections > 1 ? mix.duplicate : 0];
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  if (!(totalWeight > 0)) throw new Error('the mix must have a positive weight');
  const expectedCodes = [...new Set(mix.cards.map(([card]) => card.expectedResponseCode))];
  const codeOfCase = mix.cards.map(([card]) => expectedCodes.indexOf(card.expectedResponseCode));
  const reversal = reversalKind(mix);
  const duplicate = duplicateKind(mix);

  const kinds = new Uint8Array(count);
  const amounts = new Uint32Array(count);
  const references = new Int32Array(count).fill(-1);
  const expected = new Uint8Array(count);
  // Approvals not yet reversed, oldest first (a ring over indexes; each is reversed at most once).
  const approvals = new Int32Array(count);
  let approvalsHead = 0;
  let approvalsTail = 0;
  // Each original is retransmitted at most once, so two copies never share a STAN on one connection.
  const duplicated = new Uint8Array(count);

  for (let index = 0; index < count; index++) {
    let draw = random() * totalWeight;
    let kind = 0;
    while (kind < weights.length - 1 && draw >= weights[kind]!) {
      draw -= weights[kind]!;
      kind += 1;
    }
    if (kind === reversal) {
      if (approvalsHead < approvalsTail && approvals[approvalsHead]! <= index - options.referenceLag) {
        const original = approvals[approvalsHead++]!;
        kinds[index] = reversal;
        amounts[index] = amounts[original]!;
        references[index] = original;
        expected[index] = codeOfCase[0]!;
        continue;
      }
      kind = 0;
    } else if (kind === duplicate) {
      const original = duplicateOriginal(index, options, kinds, duplicated, mix.cards.length);
      if (original >= 0) {
        duplicated[original] = 1;
        kinds[index] = duplicate;
        references[index] = original;
        expected[index] = expected[original]!;
        continue;
      }
      kind = 0;
    }
    const card = mix.cards[kind]![0];
    kinds[index] = kind;
    amounts[index] = card.amountMinorMin + Math.floor(random() * (card.amountMinorMax - card.amountMinorMin + 1));
    expected[index] = codeOfCase[kind]!;
    if (kind === 0) approvals[approvalsTail++] = index;
  }
  return { count, connections, kinds, amounts, references, expected, expectedCodes };
}

/**
 * An earlier authorisation to retransmit: referenceLag back, on another connection (the copy has
 * the original's STAN, and responses are matched by STAN per connection), not already repeated.
 * -1 when none fits within a few tries.
 */
function duplicateOriginal(index: number, options: PlanOptions, kinds: Uint8Array, duplicated: Uint8Array,
  cardCases: number): number {
  const { connections, referenceLag } = options;
  for (let candidate = index - referenceLag, tries = 0; candidate >= 0 && tries < 8; candidate--, tries++) {
    if ((index - candidate) % connections === 0) continue;
    if (kinds[candidate]! >= cardCases || duplicated[candidate] === 1) continue;
    return candidate;
  }
  return -1;
}
