/** Fields an 0800/0810 network management exchange carries (transmission time, STAN, code). */
export const NETWORK_MANAGEMENT_FIELDS: readonly number[] = Object.freeze([7, 11, 70]);
