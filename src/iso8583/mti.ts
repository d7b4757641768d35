/** The message type indicator: four decimal digits as ASCII, EBCDIC or two BCD bytes. */
import type { Dialect } from './dialect-types';

/** Interned MTI strings, so decoding one allocates no string after the first of its kind. */
const MTI_STRINGS: (string | undefined)[] = new Array<string | undefined>(10000);

export function mtiString(value: number): string {
  let text = MTI_STRINGS[value];
  if (text === undefined) {
    text = String(value).padStart(4, '0');
    MTI_STRINGS[value] = text;
  }
  return text;
}

/** MTI as a number 0-9999, or -1 if the bytes are not four decimal digits. */
export function readMti(dialect: Dialect, frame: Buffer): number {
  if (dialect.mtiEncoding === 'bcd') return readBcdMti(frame);
  const zero = dialect.mtiEncoding === 'ascii' ? 0x30 : 0xf0;
  let value = 0;
  for (let i = 0; i < 4; i++) {
    const d = frame[i]! - zero;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

function readBcdMti(frame: Buffer): number {
  let value = 0;
  for (let i = 0; i < 2; i++) {
    const high = frame[i]! >> 4;
    const low = frame[i]! & 0x0f;
    if (high > 9 || low > 9) return -1;
    value = value * 100 + high * 10 + low;
  }
  return value;
}

/** MTI string as a number 0-9999, or -1 unless it is exactly four decimal digits. */
export function mtiValue(mti: string): number {
  if (typeof mti !== 'string' || mti.length !== 4) return -1;
  let value = 0;
  for (let i = 0; i < 4; i++) {
    const d = mti.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

export function writeMti(dialect: Dialect, target: Buffer, pos: number, value: number): void {
  const d0 = Math.floor(value / 1000);
  const d1 = Math.floor(value / 100) % 10;
  const d2 = Math.floor(value / 10) % 10;
  const d3 = value % 10;
  if (dialect.mtiEncoding === 'bcd') {
    target[pos] = (d0 << 4) | d1;
    target[pos + 1] = (d2 << 4) | d3;
    return;
  }
  const zero = dialect.mtiEncoding === 'ascii' ? 0x30 : 0xf0;
  target[pos] = zero + d0;
  target[pos + 1] = zero + d1;
  target[pos + 2] = zero + d2;
  target[pos + 3] = zero + d3;
}
