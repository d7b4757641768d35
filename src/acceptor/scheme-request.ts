/**
 * From a decoded ISO 8583 message to the typed request the authoriser decides on.
 *
 * Only the fields the decision needs are read (the codec converts fields lazily, so unread fields
 * cost nothing). A field present but malformed makes the whole request a format error (DE 39 =
 * 30) naming the data element; the acceptor answers it and nothing is held.
 *
 * The clear PAN lives only in this object, in memory, for the length of the decision; the record
 * keeps its keyed hash and masked form.
 */
import { parseMastercardDe48, parseOriginalDataElements, type IsoMessage } from '../iso8583';
import type { DecisionKind } from '../authorise/decision-log';

export interface SchemeRequest {
  kind: DecisionKind;
  mti: string;
  /** xx01, xx21, ...: the acquirer repeated a request it got no answer to. */
  repeat: boolean;
  pan: string;
  /** DE 3 positions 1-2: 00 purchase, 01 cash, 09 purchase with cashback, 20 refund, 30 balance. */
  transactionType: string;
  /** DE 4. */
  amountMinor: number;
  /** DE 6 when present, else DE 4: what the account is charged and what is held. */
  billingAmountMinor: number;
  /** DE 51 when DE 6 is present, else DE 49. */
  billingCurrency: string;
  transmissionDateTime: string;
  stan: string;
  /** DE 14, YYMM, or '' when absent. */
  expiry: string;
  /** DE 18, or ''. */
  mcc: string;
  /** DE 22 positions 1-2 (PAN entry mode), or ''. */
  panEntryMode: string;
  /** Merchant country: DE 19, else the last 3 characters of DE 43, else ''. */
  merchantCountry: string;
  acquirerId: string;
  rrn: string;
  /** DE 38 on reversals and advices. */
  approvalCode: string;
  terminalId: string;
  /** The terminal accepts partial approval (Mastercard DE 48 subelement 61, position 1 = 1). */
  partialApprovalSupported: boolean;
  /** DE 90 parsed, when present and usable (non-zero STAN and DE 7). */
  original: { mti: string; stan: string; transmissionDateTime: string; acquirerId: string } | undefined;
  /** DE 95 actual transaction amount, for partial reversals. */
  replacementAmountMinor: number | undefined;
}

export class SchemeRequestFormatError {
  constructor(readonly dataElement: number, readonly reason: string) {}
}

const DIGITS = /^[0-9]+$/;

const KIND_BY_CLASS_FUNCTION: Record<string, DecisionKind | undefined> = {
  '10': 'authorisation',
  '12': 'advice',
  '20': 'financial',
  '22': 'financial-advice',
  '40': 'reversal',
  '42': 'reversal-advice',
};

/** The kind of decision an MTI asks for, or undefined when the gateway does not take it (12). */
export function decisionKindOf(mti: string): DecisionKind | undefined {
  if (mti.length !== 4 || mti.charCodeAt(0) !== 0x30) return undefined;
  const origin = mti.charCodeAt(3);
  // Origin 0 (acquirer) and 1 (acquirer repeat) only; responses never arrive here.
  if (origin !== 0x30 && origin !== 0x31) return undefined;
  return KIND_BY_CLASS_FUNCTION[mti.slice(1, 3)];
}

function numeric(message: IsoMessage, de: number, required: boolean): string | SchemeRequestFormatError {
  const text = message.getString(de);
  if (text === undefined) return required ? new SchemeRequestFormatError(de, 'missing') : '';
  if (!DIGITS.test(text)) return new SchemeRequestFormatError(de, 'not numeric');
  return text;
}

function text(message: IsoMessage, de: number): string {
  return message.getString(de)?.trim() ?? '';
}

export function readSchemeRequest(message: IsoMessage, kind: DecisionKind):
  SchemeRequest | SchemeRequestFormatError {
  const pan = numeric(message, 2, true);
  if (pan instanceof SchemeRequestFormatError) return pan;
  if (pan.length < 12 || pan.length > 19) return new SchemeRequestFormatError(2, 'length outside 12-19');
  const processingCode = numeric(message, 3, true);
  if (processingCode instanceof SchemeRequestFormatError) return processingCode;
  const amount = numeric(message, 4, true);
  if (amount instanceof SchemeRequestFormatError) return amount;
  const billing = numeric(message, 6, false);
  if (billing instanceof SchemeRequestFormatError) return billing;
  const transmission = numeric(message, 7, false);
  if (transmission instanceof SchemeRequestFormatError) return transmission;
  const stan = numeric(message, 11, true);
  if (stan instanceof SchemeRequestFormatError) return stan;
  const expiry = numeric(message, 14, false);
  if (expiry instanceof SchemeRequestFormatError) return expiry;
  if (expiry !== '' && expiry.length !== 4) return new SchemeRequestFormatError(14, 'not YYMM');
  const posEntry = numeric(message, 22, false);
  if (posEntry instanceof SchemeRequestFormatError) return posEntry;

  let original: SchemeRequest['original'];
  const de90 = message.getString(90);
  if (de90 !== undefined) {
    const parsed = parseOriginalDataElements(de90);
    if (parsed === undefined) return new SchemeRequestFormatError(90, 'not original data elements');
    if (!/^0+$/.test(parsed.originalStan) && !/^0+$/.test(parsed.originalTransmissionDateTime)) {
      original = {
        mti: parsed.originalMti, stan: parsed.originalStan,
        transmissionDateTime: parsed.originalTransmissionDateTime,
        acquirerId: parsed.acquiringInstitutionId.replace(/^0+(?=.)/, ''),
      };
    }
  }
  let replacementAmountMinor: number | undefined;
  const de95 = message.getString(95);
  if (de95 !== undefined) {
    const actual = de95.slice(0, 12);
    if (!DIGITS.test(actual)) return new SchemeRequestFormatError(95, 'actual amount not numeric');
    replacementAmountMinor = Number(actual);
  }

  const currency = text(message, 49);
  const de43 = text(message, 43);
  return {
    kind,
    mti: message.mti,
    repeat: message.mti.charCodeAt(3) === 0x31,
    pan,
    transactionType: processingCode.slice(0, 2),
    amountMinor: Number(amount),
    billingAmountMinor: billing === '' ? Number(amount) : Number(billing),
    billingCurrency: billing === '' ? currency : (text(message, 51) || currency),
    transmissionDateTime: transmission,
    stan,
    expiry,
    mcc: text(message, 18),
    panEntryMode: posEntry.slice(0, 2),
    merchantCountry: text(message, 19) || (de43.length >= 3 ? de43.slice(-3) : ''),
    acquirerId: text(message, 32),
    rrn: text(message, 37),
    approvalCode: text(message, 38),
    terminalId: text(message, 41),
    partialApprovalSupported: partialApprovalSupported(message),
    original,
    replacementAmountMinor,
  };
}

function partialApprovalSupported(message: IsoMessage): boolean {
  const de48 = message.getString(48);
  if (de48 === undefined) return false;
  const parsed = parseMastercardDe48(de48);
  if (!('subelements' in parsed)) return false;
  for (const subelement of parsed.subelements) {
    if (subelement.tag === '61') return subelement.value.charAt(0) === '1';
  }
  return false;
}
