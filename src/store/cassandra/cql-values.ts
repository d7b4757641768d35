/**
 * Narrowing of values read back from cassandra-driver rows: bigint columns arrive as Long, timestamp
 * columns as Date, missing cells as null. Amounts are n12 at most, so Long.toNumber() is exact.
 */
import { types } from 'cassandra-driver';

export function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value instanceof types.Long) return value.toNumber();
  if (value instanceof Date) return value.getTime();
  if (value === null || value === undefined) return 0;
  throw new TypeError(`expected a number from Cassandra, got ${typeof value}`);
}

export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  throw new TypeError(`expected text from Cassandra, got ${typeof value}`);
}

export function booleanOf(value: unknown): boolean {
  return value === true;
}

/** Row accessor that tolerates the driver's loose typing without `any`. */
export interface CqlRow {
  get(columnName: string): unknown;
}

/** The month before a YYYYMM key: recent-decision reads walk back month partitions with it. */
export function previousMonthKey(monthKey: string): string {
  const year = Number(monthKey.slice(0, 4));
  const month = Number(monthKey.slice(4, 6));
  return month === 1 ? `${year - 1}12` : `${year}${String(month - 1).padStart(2, '0')}`;
}

/** YYYYMM keys from the month of fromMs to the month of toMs inclusive, oldest first. */
export function monthKeysBetween(fromMs: number, toMs: number): string[] {
  const keys: string[] = [];
  const from = new Date(fromMs);
  let year = from.getUTCFullYear();
  let month = from.getUTCMonth();
  const to = new Date(toMs);
  const endYear = to.getUTCFullYear();
  const endMonth = to.getUTCMonth();
  while (year < endYear || (year === endYear && month <= endMonth)) {
    keys.push(`${year}${String(month + 1).padStart(2, '0')}`);
    month += 1;
    if (month === 12) {
      month = 0;
      year += 1;
    }
  }
  return keys;
}
