/**
 * Does a response answer its request? The scheme matches on these, so a gateway that gets one
 * wrong has a response the scheme would drop (and the scheme would stand in or reverse).
 */
import type { IsoMessage } from '../iso8583';
import { responseMtiFor } from '../network-link/message-types';

/** Fields a response must carry unchanged from its request. */
const MUST_ECHO: readonly number[] = [11, 37];
/** Fields that, when the response carries them, must equal the request's. */
const ECHO_IF_PRESENT: readonly number[] = [3, 7, 32, 41, 42, 49];

/** Reasons the response does not match, empty when it does. Never includes field values. */
export function responseMismatches(request: IsoMessage, response: IsoMessage): string[] {
  const problems: string[] = [];
  const expectedMti = responseMtiFor(request.mti);
  if (response.mti !== expectedMti) problems.push(`MTI ${response.mti}, expected ${expectedMti ?? '?'}`);
  for (const de of MUST_ECHO) {
    if (!response.has(de)) problems.push(`DE ${de} missing`);
    else if (response.getString(de) !== request.getString(de)) problems.push(`DE ${de} differs`);
  }
  for (const de of ECHO_IF_PRESENT) {
    if (response.has(de) && response.getString(de) !== request.getString(de)) problems.push(`DE ${de} differs`);
  }
  const responseCode = response.getString(39);
  if (responseCode === undefined || !/^[0-9A-Z]{2}$/.test(responseCode)) problems.push('DE 39 missing or malformed');
  return problems;
}
