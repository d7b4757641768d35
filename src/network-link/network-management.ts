/**
 * Network management (class 8) messages the link answers and originates itself: sign-on, sign-off
 * and echo (DE 70 = 001, 002, 301). They never reach the acceptor.
 */
import { IsoMessage } from '../iso8583';
import { responseMtiFor } from './message-types';

/** DE 70 network management information codes (ISO 8583:1987). */
export const SIGN_ON = '001';
export const SIGN_OFF = '002';
export const CUTOVER = '201';
export const ECHO_TEST = '301';

export const RESPONSE_APPROVED = '00';
/** "Invalid transaction": an 0800 whose DE 70 code we do not support. */
export const RESPONSE_INVALID_TRANSACTION = '12';
/** "Format error": a frame that did not decode. */
export const RESPONSE_FORMAT_ERROR = '30';
/** "Issuer or switch inoperative": refused before sign-on or while draining; the scheme stands in. */
export const RESPONSE_ISSUER_UNAVAILABLE = '91';
/** "System malfunction": the acceptor failed or produced a response that would not encode. */
export const RESPONSE_SYSTEM_MALFUNCTION = '96';

/** Fields an 0810 copies from its 0800: date/time, STAN, institution ids, RRN, terminal, code. */
const NETWORK_ECHO_FIELDS: readonly number[] = [7, 11, 32, 33, 37, 41, 70];

/**
 * Fields a response built by the link copies from a financial request so the scheme can match it:
 * processing code, amount, date/time, STAN, local time/date, acquirer and forwarding institutions,
 * RRN, terminal and merchant ids, currency. The PAN (DE 2) is left out on purpose.
 */
const FINANCIAL_ECHO_FIELDS: readonly number[] = [3, 4, 7, 11, 12, 13, 32, 33, 37, 41, 42, 49];

function copyFields(from: IsoMessage, to: IsoMessage, fields: readonly number[]): void {
  for (const de of fields) {
    const value = from.getString(de);
    if (value !== undefined) to.set(de, value);
  }
}

/** DE 39 for an incoming 0800 code: approved for codes we act on, invalid otherwise. */
export function networkResponseCode(code: string | undefined): string {
  if (code === SIGN_ON || code === SIGN_OFF || code === ECHO_TEST || code === CUTOVER) return RESPONSE_APPROVED;
  return RESPONSE_INVALID_TRANSACTION;
}

export function networkResponse(request: IsoMessage, responseCode: string): IsoMessage {
  const response = new IsoMessage(responseMtiFor(request.mti) ?? '0810');
  copyFields(request, response, NETWORK_ECHO_FIELDS);
  response.set(39, responseCode);
  return response;
}

/**
 * A response the link builds itself for a financial request it will not pass on (refused, or the
 * acceptor failed): the request's matching fields plus DE 39.
 */
export function financialRefusal(request: IsoMessage, responseCode: string): IsoMessage | undefined {
  const mti = responseMtiFor(request.mti);
  if (mti === undefined) return undefined;
  const response = new IsoMessage(mti);
  copyFields(request, response, FINANCIAL_ECHO_FIELDS);
  response.set(39, responseCode);
  return response;
}

/** The answer to a frame that did not decode but whose MTI and STAN could be read: DE 39 = 30. */
export function formatErrorResponse(requestMti: string, stan: string): IsoMessage | undefined {
  const mti = responseMtiFor(requestMti);
  if (mti === undefined) return undefined;
  return new IsoMessage(mti).set(11, stan).set(39, RESPONSE_FORMAT_ERROR);
}

function twoDigits(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** DE 7, transmission date and time, MMDDhhmmss in UTC. */
export function transmissionDateTime(now: Date): string {
  return twoDigits(now.getUTCMonth() + 1) + twoDigits(now.getUTCDate()) + twoDigits(now.getUTCHours())
    + twoDigits(now.getUTCMinutes()) + twoDigits(now.getUTCSeconds());
}

/** An 0800 we originate: DE 7, DE 11, DE 70 plus the link's configured extra fields. */
export function networkRequest(code: string, stan: string, extraFields: Record<string, string>, now: Date): IsoMessage {
  const request = new IsoMessage('0800');
  request.set(7, transmissionDateTime(now));
  request.set(11, stan);
  for (const [de, value] of Object.entries(extraFields)) request.set(Number(de), value);
  request.set(70, code);
  return request;
}
