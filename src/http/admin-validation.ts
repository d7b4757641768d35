/**
 * Checks of admin API bodies and seed entries. Each returns the typed value or an InvalidField
 * naming the field and what was wrong, which the API answers as 400. Values never echo a PAN.
 */
import type { CardDefaults } from '../config/schema';
import type { CardPatch } from '../authorise/card-directory';
import type { CardControls, CardLimits, CardStatus } from '../authorise/types';

export class InvalidField {
  constructor(readonly field: string, readonly reason: string) {}
}

type Fields = Record<string, unknown>;

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rejectUnknown(body: Fields, allowed: readonly string[], prefix = ''): InvalidField | undefined {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) return new InvalidField(prefix + key, 'unknown field');
  }
  return undefined;
}

const MAX_MINOR = 999_999_999_999;

function minorAmount(body: Fields, field: string, required: boolean, prefix = ''): number | undefined | InvalidField {
  const value = body[field];
  if (value === undefined) return required ? new InvalidField(prefix + field, 'required') : undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_MINOR) {
    return new InvalidField(prefix + field, `must be an integer from 0 to ${MAX_MINOR}`);
  }
  return value;
}

function matching(body: Fields, field: string, pattern: RegExp, description: string, required: boolean):
  string | undefined | InvalidField {
  const value = body[field];
  if (value === undefined) return required ? new InvalidField(field, 'required') : undefined;
  if (typeof value !== 'string' || !pattern.test(value)) return new InvalidField(field, description);
  return value;
}

export interface AccountBody { currency: string; balanceMinor: number; overdraftMinor: number }

export function parseAccountBody(body: unknown): AccountBody | InvalidField {
  if (!isFields(body)) return new InvalidField('body', 'must be a JSON object');
  const unknown = rejectUnknown(body, ['currency', 'balanceMinor', 'overdraftMinor']);
  if (unknown) return unknown;
  const currency = matching(body, 'currency', /^[0-9]{3}$/, 'must be an ISO 4217 numeric code, e.g. "826"', true);
  if (currency instanceof InvalidField) return currency;
  const balanceMinor = minorAmount(body, 'balanceMinor', true);
  if (balanceMinor instanceof InvalidField) return balanceMinor;
  const overdraftMinor = minorAmount(body, 'overdraftMinor', false);
  if (overdraftMinor instanceof InvalidField) return overdraftMinor;
  return { currency: currency as string, balanceMinor: balanceMinor as number, overdraftMinor: overdraftMinor ?? 0 };
}

export interface AmountBody { amountMinor: number; holdId: string | undefined; idempotencyKey: string | undefined }

export function parseAmountBody(body: unknown, allowHold: boolean): AmountBody | InvalidField {
  if (!isFields(body)) return new InvalidField('body', 'must be a JSON object');
  const unknown = rejectUnknown(body, allowHold ? ['amountMinor', 'holdId', 'idempotencyKey'] : ['amountMinor', 'idempotencyKey']);
  if (unknown) return unknown;
  const amountMinor = minorAmount(body, 'amountMinor', true);
  if (amountMinor instanceof InvalidField) return amountMinor;
  const holdId = matching(body, 'holdId', /^[A-Za-z0-9-]{1,64}$/, 'must be a hold id', false);
  if (holdId instanceof InvalidField) return holdId;
  const idempotencyKey = matching(body, 'idempotencyKey', /^[\x21-\x7e]{1,128}$/, 'must be 1-128 printable characters', false);
  if (idempotencyKey instanceof InvalidField) return idempotencyKey;
  return { amountMinor: amountMinor as number, holdId, idempotencyKey };
}

const CARD_STATUSES: readonly CardStatus[] = ['active', 'lost', 'stolen', 'blocked', 'closed'];
const CONTROL_FLAGS = ['frozen', 'gamblingBlock', 'atmBlock', 'contactlessBlock', 'magstripeBlock', 'onlineBlock'] as const;
const LIMIT_FIELDS = ['dailySpendMinor', 'monthlySpendMinor', 'atmDailyAmountMinor', 'atmDailyCount',
  'contactlessSingleMinor'] as const;

function parseControls(value: unknown): Partial<CardControls> | InvalidField {
  if (!isFields(value)) return new InvalidField('controls', 'must be an object');
  const unknown = rejectUnknown(value, [...CONTROL_FLAGS, 'blockedCountries'], 'controls.');
  if (unknown) return unknown;
  const controls: Partial<CardControls> = {};
  for (const flag of CONTROL_FLAGS) {
    const flagValue = value[flag];
    if (flagValue === undefined) continue;
    if (typeof flagValue !== 'boolean') return new InvalidField(`controls.${flag}`, 'must be true or false');
    controls[flag] = flagValue;
  }
  const countries = value['blockedCountries'];
  if (countries !== undefined) {
    if (!Array.isArray(countries) || !countries.every((c) => typeof c === 'string' && /^[0-9A-Z]{3}$/.test(c))) {
      return new InvalidField('controls.blockedCountries', 'must be a list of 3-character country codes');
    }
    controls.blockedCountries = countries as string[];
  }
  return controls;
}

function parseLimits(value: unknown): Partial<CardLimits> | InvalidField {
  if (!isFields(value)) return new InvalidField('limits', 'must be an object');
  const unknown = rejectUnknown(value, LIMIT_FIELDS, 'limits.');
  if (unknown) return unknown;
  const limits: Partial<CardLimits> = {};
  for (const field of LIMIT_FIELDS) {
    const amount = minorAmount(value, field, false, 'limits.');
    if (amount instanceof InvalidField) return amount;
    if (amount !== undefined) limits[field] = amount;
  }
  return limits;
}

export interface CardBody {
  cardId: string | undefined;
  pan: string;
  expiry: string;
  accountId: string;
  status: CardStatus;
  controls: CardControls;
  limits: CardLimits;
}

export const ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

/** A PAN: 12-19 digits passing the Luhn check. */
export function isPan(value: string): boolean {
  if (!/^[0-9]{12,19}$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < value.length; i++) {
    let digit = value.charCodeAt(value.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

export function parseCardBody(body: unknown, defaults: CardDefaults, allowCardId: boolean): CardBody | InvalidField {
  if (!isFields(body)) return new InvalidField('body', 'must be a JSON object');
  const allowed = ['pan', 'expiry', 'accountId', 'status', 'controls', 'limits'];
  const unknown = rejectUnknown(body, allowCardId ? [...allowed, 'cardId'] : allowed);
  if (unknown) return unknown;
  const cardId = matching(body, 'cardId', ID_PATTERN, 'must be 1-64 letters, digits or ._:-', false);
  if (cardId instanceof InvalidField) return cardId;
  const pan = body['pan'];
  if (typeof pan !== 'string' || !isPan(pan)) return new InvalidField('pan', 'must be 12-19 digits passing the Luhn check');
  const expiry = matching(body, 'expiry', /^[0-9]{2}(0[1-9]|1[0-2])$/, 'must be YYMM', true);
  if (expiry instanceof InvalidField) return expiry;
  const accountId = matching(body, 'accountId', ID_PATTERN, 'must be 1-64 letters, digits or ._:-', true);
  if (accountId instanceof InvalidField) return accountId;
  const status = body['status'] ?? 'active';
  if (typeof status !== 'string' || !CARD_STATUSES.includes(status as CardStatus)) {
    return new InvalidField('status', `must be one of ${CARD_STATUSES.join(', ')}`);
  }
  const controls = body['controls'] === undefined ? {} : parseControls(body['controls']);
  if (controls instanceof InvalidField) return controls;
  const limits = body['limits'] === undefined ? {} : parseLimits(body['limits']);
  if (limits instanceof InvalidField) return limits;
  return {
    cardId, pan, expiry: expiry as string, accountId: accountId as string, status: status as CardStatus,
    controls: { ...defaults.controls, ...controls, blockedCountries: [...(controls.blockedCountries ?? defaults.controls.blockedCountries)] },
    limits: { ...defaults.limits, ...limits },
  };
}

export function parseCardPatch(body: unknown): CardPatch | InvalidField {
  if (!isFields(body)) return new InvalidField('body', 'must be a JSON object');
  const unknown = rejectUnknown(body, ['status', 'controls', 'limits']);
  if (unknown) return unknown;
  const patch: CardPatch = {};
  if (body['status'] !== undefined) {
    if (typeof body['status'] !== 'string' || !CARD_STATUSES.includes(body['status'] as CardStatus)) {
      return new InvalidField('status', `must be one of ${CARD_STATUSES.join(', ')}`);
    }
    patch.status = body['status'] as CardStatus;
  }
  if (body['controls'] !== undefined) {
    const controls = parseControls(body['controls']);
    if (controls instanceof InvalidField) return controls;
    patch.controls = controls;
  }
  if (body['limits'] !== undefined) {
    const limits = parseLimits(body['limits']);
    if (limits instanceof InvalidField) return limits;
    patch.limits = limits;
  }
  return patch;
}

/** POST /v1/authorise: the JSON form of an authorisation request, mapped to ISO 8583 fields. */
export interface AuthoriseBody {
  mti: string;
  pan: string;
  processingCode: string;
  amountMinor: number;
  currency: string;
  expiry: string | undefined;
  mcc: string | undefined;
  posEntryMode: string | undefined;
  stan: string;
  rrn: string;
  acquirerId: string;
  transmissionDateTime: string;
  terminalId: string | undefined;
  merchantCountry: string | undefined;
  partialApprovalSupported: boolean;
  originalDataElements: string | undefined;
}

export function parseAuthoriseBody(body: unknown): AuthoriseBody | InvalidField {
  if (!isFields(body)) return new InvalidField('body', 'must be a JSON object');
  const unknown = rejectUnknown(body, ['mti', 'pan', 'processingCode', 'amountMinor', 'currency', 'expiry', 'mcc',
    'posEntryMode', 'stan', 'rrn', 'acquirerId', 'transmissionDateTime', 'terminalId', 'merchantCountry',
    'partialApprovalSupported', 'originalDataElements']);
  if (unknown) return unknown;
  const mti = matching(body, 'mti', /^0[124][02][01]$/, 'must be an 01xx, 02xx or 04xx request MTI', false);
  if (mti instanceof InvalidField) return mti;
  const pan = matching(body, 'pan', /^[0-9]{12,19}$/, 'must be 12-19 digits', true);
  if (pan instanceof InvalidField) return pan;
  const amountMinor = minorAmount(body, 'amountMinor', true);
  if (amountMinor instanceof InvalidField) return amountMinor;
  const fields: [string, RegExp, string][] = [
    ['processingCode', /^[0-9]{6}$/, 'must be 6 digits'], ['currency', /^[0-9]{3}$/, 'must be 3 digits'],
    ['expiry', /^[0-9]{4}$/, 'must be YYMM'], ['mcc', /^[0-9]{4}$/, 'must be 4 digits'],
    ['posEntryMode', /^[0-9]{3}$/, 'must be 3 digits'], ['stan', /^[0-9]{6}$/, 'must be 6 digits'],
    ['rrn', /^[0-9A-Za-z ]{12}$/, 'must be 12 characters'], ['acquirerId', /^[0-9]{1,11}$/, 'must be 1-11 digits'],
    ['transmissionDateTime', /^[0-9]{10}$/, 'must be MMDDhhmmss'], ['terminalId', /^[\x20-\x7e]{8}$/, 'must be 8 characters'],
    ['merchantCountry', /^[0-9A-Z]{3}$/, 'must be 3 characters'], ['originalDataElements', /^[0-9]{42}$/, 'must be 42 digits'],
  ];
  const values: Record<string, string | undefined> = {};
  for (const [field, pattern, description] of fields) {
    const value = matching(body, field, pattern, description, false);
    if (value instanceof InvalidField) return value;
    values[field] = value;
  }
  const partial = body['partialApprovalSupported'];
  if (partial !== undefined && typeof partial !== 'boolean') {
    return new InvalidField('partialApprovalSupported', 'must be true or false');
  }
  const now = new Date();
  const two = (n: number): string => String(n).padStart(2, '0');
  return {
    mti: mti ?? '0100', pan: pan as string, processingCode: values['processingCode'] ?? '000000',
    amountMinor: amountMinor as number, currency: values['currency'] ?? '826', expiry: values['expiry'],
    mcc: values['mcc'], posEntryMode: values['posEntryMode'],
    stan: values['stan'] ?? String(Math.floor(Math.random() * 1_000_000)).padStart(6, '0'),
    rrn: values['rrn'] ?? String(Math.floor(Math.random() * 1e12)).padStart(12, '0'),
    acquirerId: values['acquirerId'] ?? '999999',
    transmissionDateTime: values['transmissionDateTime']
      ?? `${two(now.getUTCMonth() + 1)}${two(now.getUTCDate())}${two(now.getUTCHours())}${two(now.getUTCMinutes())}${two(now.getUTCSeconds())}`,
    terminalId: values['terminalId'], merchantCountry: values['merchantCountry'],
    partialApprovalSupported: partial === true, originalDataElements: values['originalDataElements'],
  };
}
