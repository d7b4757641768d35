/**
 * The authorisation domain in card-payments words: cards, their controls and limits, accounts,
 * holds, response codes. Shared by the rules, the ledgers (embedded and Redis), the store and the
 * admin API, so each speaks of the same things by the same names.
 *
 * Amounts are integers in minor units (pence, cents). ISO 8583 amounts are n12, at most
 * 999,999,999,999, well inside Number.MAX_SAFE_INTEGER, so plain numbers are exact.
 */

/** DE 39 values the gateway answers with. Meanings: ../shared/docs/domain-brief.md section 3. */
export const ResponseCode = {
  approved: '00',
  partialApproval: '10',
  invalidTransaction: '12',
  invalidAmount: '13',
  invalidCardNumber: '14',
  formatError: '30',
  lostCard: '41',
  stolenCard: '43',
  insufficientFunds: '51',
  expiredCard: '54',
  notPermittedToCardholder: '57',
  exceedsAmountLimit: '61',
  restrictedCard: '62',
  exceedsCountLimit: '65',
  issuerUnavailable: '91',
  systemMalfunction: '96',
} as const;

export type ResponseCode = (typeof ResponseCode)[keyof typeof ResponseCode];

export function isApproval(responseCode: string): boolean {
  return responseCode === ResponseCode.approved || responseCode === ResponseCode.partialApproval;
}

/** Card status as the bank's card system sets it; a frozen card is a control, not a status. */
export type CardStatus = 'active' | 'lost' | 'stolen' | 'blocked' | 'closed';

export interface CardControls {
  /** Customer froze the card in the app: every card payment declines until unfrozen. */
  frozen: boolean;
  /** Gambling merchants (MCC 7995, 7800-7802, 9754) decline. */
  gamblingBlock: boolean;
  atmBlock: boolean;
  contactlessBlock: boolean;
  magstripeBlock: boolean;
  /** Card-not-present / e-commerce / credential-on-file payments decline. */
  onlineBlock: boolean;
  /** ISO 3166 numeric or alpha-3 merchant country codes that decline. */
  blockedCountries: string[];
}

export interface CardLimits {
  /** Spend on the card per UTC day (all purchases and withdrawals, billing currency). */
  dailySpendMinor: number;
  /** Spend on the card per UTC calendar month. */
  monthlySpendMinor: number;
  /** Cash withdrawn at ATMs per UTC day. */
  atmDailyAmountMinor: number;
  /** Number of ATM withdrawals per UTC day. */
  atmDailyCount: number;
  /** Largest single contactless payment without cardholder verification. */
  contactlessSingleMinor: number;
}

export interface Card {
  cardId: string;
  /** HMAC-SHA-256 of the PAN under the gateway's key: the only form of the PAN at rest. */
  panHash: string;
  /** First 6 and last 4 digits with the middle masked, for display and logs. */
  panMasked: string;
  /** YYMM, as in DE 14. */
  expiry: string;
  accountId: string;
  status: CardStatus;
  controls: CardControls;
  limits: CardLimits;
}

export interface Account {
  accountId: string;
  /** ISO 4217 numeric currency of the account, e.g. "826" for GBP: the DE 51 billing currency. */
  currency: string;
  /** Posted balance. */
  balanceMinor: number;
  /** How far below zero the available balance may go. */
  overdraftMinor: number;
}

export type HoldStatus = 'pending' | 'released' | 'expired' | 'posted';

export interface Hold {
  holdId: string;
  accountId: string;
  cardId: string;
  /** Amount still held (after increments and partial reversals). */
  amountMinor: number;
  status: HoldStatus;
  /** The authorisation that created it. */
  idempotencyKey: string;
  createdAtMs: number;
  expiresAtMs: number;
  /** Set when an advice took the available balance below the overdraft limit. */
  overdrawn: boolean;
}

export interface AccountView extends Account {
  /** balance - pending holds + overdraft. */
  availableMinor: number;
  holds: Hold[];
}
