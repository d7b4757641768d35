/**
 * What the link needs to know about message type indicators (MTIs), ISO 8583:1987 style: four
 * digits, version / class / function / origin. The link only cares whether a message is a request
 * or a response, whether it is network management (class 8), and what MTI answers a request.
 */

const DIGIT_ZERO = 0x30;

/** True when the function digit (third) is odd: 1 response, 3 advice response, and so on. */
export function isResponseMti(mti: string): boolean {
  const functionDigit = mti.charCodeAt(2) - DIGIT_ZERO;
  return functionDigit >= 0 && functionDigit <= 9 && (functionDigit & 1) === 1;
}

/** Class 8: network management (0800 sign-on, sign-off, echo; 0820 advices). */
export function isNetworkManagementMti(mti: string): boolean {
  return mti.length === 4 && mti.charCodeAt(1) === DIGIT_ZERO + 8;
}

/**
 * Responses are memoised by request MTI because the link answers the same few MTIs millions of
 * times; the table is bounded by the 10,000 possible four-digit MTIs.
 */
const responseMtiCache = new Map<string, string>();

/**
 * The response MTI for a request MTI: function digit plus one, origin digit 0 (0100 -> 0110,
 * 0101 repeat -> 0110, 0400 -> 0410, 0120 -> 0130, 0800 -> 0810). Undefined for a non-request.
 */
export function responseMtiFor(mti: string): string | undefined {
  const cached = responseMtiCache.get(mti);
  if (cached !== undefined) return cached;
  if (!/^[0-9]{4}$/.test(mti) || isResponseMti(mti)) return undefined;
  const response = `${mti.slice(0, 2)}${mti.charCodeAt(2) - DIGIT_ZERO + 1}0`;
  responseMtiCache.set(mti, response);
  return response;
}

/**
 * The MTI with its function digit folded so a request and its response give the same text
 * (0800 and 0810 both give "080"), as jPOS's QMUX mtimapping "0022446789" does; used in match keys.
 */
const FUNCTION_DIGIT_FOLD = '0022446789';

export function mtiMatchClass(mti: string): string {
  const functionDigit = mti.charCodeAt(2) - DIGIT_ZERO;
  if (mti.length !== 4 || functionDigit < 0 || functionDigit > 9) return mti;
  return mti.slice(0, 2) + FUNCTION_DIGIT_FOLD[functionDigit]!;
}
