/**
 * UTC day, month and YYMM keys for limits and expiry, recomputed only when the day changes, so the
 * per-request cost is one comparison.
 */
const DAY_MS = 86_400_000;

export class UtcCalendar {
  private dayStartMs = -1;
  private dayKeyValue = '';
  private monthKeyValue = '';
  private yymmValue = '';

  private refresh(nowMs: number): void {
    if (nowMs >= this.dayStartMs && nowMs < this.dayStartMs + DAY_MS) return;
    const date = new Date(nowMs);
    const year = date.getUTCFullYear();
    const month = String(date.getUTCMonth() + 1).padStart(2, '0');
    const day = String(date.getUTCDate()).padStart(2, '0');
    this.dayStartMs = Date.UTC(year, date.getUTCMonth(), date.getUTCDate());
    this.dayKeyValue = `${year}${month}${day}`;
    this.monthKeyValue = `${year}${month}`;
    this.yymmValue = `${String(year % 100).padStart(2, '0')}${month}`;
  }

  dayKey(nowMs: number): string {
    this.refresh(nowMs);
    return this.dayKeyValue;
  }

  monthKey(nowMs: number): string {
    this.refresh(nowMs);
    return this.monthKeyValue;
  }

  yymm(nowMs: number): string {
    this.refresh(nowMs);
    return this.yymmValue;
  }
}
