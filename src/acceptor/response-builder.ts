/**
 * Responses to scheme requests: the MTI answering the request, the fields the scheme expects back
 * as received, DE 39, and DE 38 on approval. Sensitive fields (track data DE 35/36/45, PIN block
 * DE 52, EMV DE 55, DE 14 expiry) are never echoed.
 */
import { IsoMessage, presenceMask } from '../iso8583';
import { responseMtiFor } from '../network-link/message-types';

/**
 * Echoed as received: PAN, processing code, amounts, transmission time, STAN, local time and date,
 * MCC, country, POS entry mode, acquirer and forwarding ids, RRN, terminal and acceptor ids,
 * currencies, original data elements and replacement amounts.
 */
const ECHOED_DATA_ELEMENTS: readonly number[] = [
  2, 3, 4, 5, 6, 7, 11, 12, 13, 18, 19, 22, 32, 33, 37, 41, 42, 49, 50, 51, 90, 95,
];

const AMOUNT_WIDTH = 12;

export interface ResponseContent {
  responseCode: string;
  /** DE 38, set only on approval. */
  approvalCode: string;
  /** For partial approval (DE 39 = 10): the approved amount, returned in DE 6 if present, else DE 4. */
  partialAmountMinor: number | undefined;
}

/** Response MTI for a request MTI; unknown shapes fall back to function+1 by the same rule. */
export function responseMtiOf(requestMti: string): string {
  return responseMtiFor(requestMti) ?? (/^[0-9]{4}$/.test(requestMti) ? requestMti : '0000');
}

const ECHOED_MASK: readonly number[] = presenceMask(ECHOED_DATA_ELEMENTS);

export function buildResponse(request: IsoMessage, content: ResponseContent): IsoMessage {
  // The echoed fields stay in the request's frame: no strings, and their bytes are copied on encode.
  const response = IsoMessage.echoing(request, responseMtiOf(request.mti), ECHOED_MASK);
  response.set(39, content.responseCode);
  if (content.approvalCode !== '') response.set(38, content.approvalCode);
  if (content.partialAmountMinor !== undefined) {
    const amountField = request.has(6) ? 6 : 4;
    response.set(amountField, String(content.partialAmountMinor).padStart(AMOUNT_WIDTH, '0'));
  }
  return response;
}

/** A format error (30) or invalid transaction (12) answer to a request that was not decided. */
export function buildRefusal(request: IsoMessage, responseCode: string): IsoMessage {
  const response = new IsoMessage(responseMtiOf(request.mti));
  // Echo only fields that read back cleanly: the request may be malformed elsewhere.
  for (const de of [7, 11, 32, 37, 41]) {
    const value = request.getString(de);
    if (value !== undefined) response.set(de, value);
  }
  response.set(39, responseCode);
  return response;
}
