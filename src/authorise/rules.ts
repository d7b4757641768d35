/**
 * The bank's card rules: each a small named unit with the DE 39 it declines with. They run in
 * order, in memory, before the ledger; the first that declines decides. Limits that need counters
 * (daily, monthly, ATM) and the available balance are checked inside the ledger's atomic step,
 * because they must hold under concurrency. The table in docs/rules.md mirrors this file.
 *
 * Codes: lost 41, stolen 43, blocked/closed/frozen 62 (restricted card), expired or wrong expiry
 * 54, invalid amount 13, customer control blocks 57 (not permitted to cardholder), contactless
 * over the single-tap limit 65 (Mastercard's soft decline: retry with cardholder verification).
 */
import type { SchemeRequest } from '../acceptor/scheme-request';
import { ResponseCode, type Card } from './types';

export interface RuleContext {
  card: Card;
  request: SchemeRequest;
  /** Current year and month as YYMM, UTC. */
  currentYymm: string;
}

export interface Rule {
  readonly name: string;
  readonly responseCode: string;
  /** True when the rule declines the request. */
  declines(context: RuleContext): boolean;
}

export const GAMBLING_MCCS: ReadonlySet<string> = new Set(['7995', '7800', '7801', '7802', '9754']);
export const ATM_MCC = '6011';
/** DE 22 PAN entry modes (domain brief section 2). */
const CONTACTLESS_ENTRY = new Set(['07', '91']);
const MAGSTRIPE_ENTRY = new Set(['02', '90', '80', '91']);
const CARD_NOT_PRESENT_ENTRY = new Set(['01', '81', '09', '10']);
/** DE 3 positions 1-2 the gateway authorises: purchase, cash, purchase with cashback. */
const SPENDING_TYPES = new Set(['00', '01', '09']);

/** A debit the gateway authorises (DE 3 positions 1-2 purchase, cash, purchase with cashback), not a refund or credit. */
export function isSpendingType(request: SchemeRequest): boolean {
  return SPENDING_TYPES.has(request.transactionType);
}

export function isCashWithdrawal(request: SchemeRequest): boolean {
  return request.transactionType === '01' || request.mcc === ATM_MCC;
}

export function isContactless(request: SchemeRequest): boolean {
  return CONTACTLESS_ENTRY.has(request.panEntryMode);
}

export const rules: readonly Rule[] = [
  { name: 'card-lost', responseCode: ResponseCode.lostCard,
    declines: ({ card }) => card.status === 'lost' },
  { name: 'card-stolen', responseCode: ResponseCode.stolenCard,
    declines: ({ card }) => card.status === 'stolen' },
  { name: 'card-blocked-or-closed', responseCode: ResponseCode.restrictedCard,
    declines: ({ card }) => card.status === 'blocked' || card.status === 'closed' },
  { name: 'card-expired', responseCode: ResponseCode.expiredCard,
    declines: ({ card, currentYymm }) => card.expiry < currentYymm },
  { name: 'expiry-mismatch', responseCode: ResponseCode.expiredCard,
    declines: ({ card, request }) => request.expiry !== '' && request.expiry !== card.expiry },
  { name: 'transaction-type-not-supported', responseCode: ResponseCode.invalidTransaction,
    declines: ({ request }) => !isSpendingType(request) },
  { name: 'invalid-amount', responseCode: ResponseCode.invalidAmount,
    declines: ({ request }) => request.billingAmountMinor <= 0 },
  { name: 'card-frozen', responseCode: ResponseCode.restrictedCard,
    declines: ({ card }) => card.controls.frozen },
  { name: 'gambling-block', responseCode: ResponseCode.notPermittedToCardholder,
    declines: ({ card, request }) => card.controls.gamblingBlock && GAMBLING_MCCS.has(request.mcc) },
  { name: 'atm-block', responseCode: ResponseCode.notPermittedToCardholder,
    declines: ({ card, request }) => card.controls.atmBlock && isCashWithdrawal(request) },
  { name: 'contactless-block', responseCode: ResponseCode.notPermittedToCardholder,
    declines: ({ card, request }) => card.controls.contactlessBlock && isContactless(request) },
  { name: 'magstripe-block', responseCode: ResponseCode.notPermittedToCardholder,
    declines: ({ card, request }) => card.controls.magstripeBlock && MAGSTRIPE_ENTRY.has(request.panEntryMode) },
  { name: 'online-block', responseCode: ResponseCode.notPermittedToCardholder,
    declines: ({ card, request }) =>
      card.controls.onlineBlock && CARD_NOT_PRESENT_ENTRY.has(request.panEntryMode) },
  { name: 'country-block', responseCode: ResponseCode.notPermittedToCardholder,
    declines: ({ card, request }) =>
      request.merchantCountry !== '' && card.controls.blockedCountries.includes(request.merchantCountry) },
  { name: 'contactless-single-limit', responseCode: ResponseCode.exceedsCountLimit,
    declines: ({ card, request }) =>
      isContactless(request) && request.billingAmountMinor > card.limits.contactlessSingleMinor },
];

/** The first rule that declines, or undefined when every rule passes. */
export function firstDecliningRule(context: RuleContext): Rule | undefined {
  for (const rule of rules) if (rule.declines(context)) return rule;
  return undefined;
}
