import type { IsoMessage } from './message';

export function maskPan(pan: string): string {
  return pan.length < 11 ? '*'.repeat(pan.length) : pan.slice(0, 6) + '*'.repeat(pan.length - 10) + pan.slice(-4);
}

export function describeMasked(message: IsoMessage): Record<string, string> {
  void message;
  return {};
}
