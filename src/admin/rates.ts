/**
 * Per-second rates of ever-growing totals over a trailing window: totals are recorded at each
 * tick, and a rate compares the newest record with the oldest one still inside the window.
 */
export class RateWindow {
  private readonly records: { at: number; totals: Map<string, number> }[] = [];

  constructor(private readonly windowMs = 60_000) {}

  record(totals: Map<string, number>, now = Date.now()): void {
    this.records.push({ at: now, totals });
    while (this.records.length > 2 && now - this.records[1]!.at >= this.windowMs) this.records.shift();
  }

  /** The rate of one key per second; 0 before two records exist. */
  rate(key: string): number {
    const first = this.records[0];
    const last = this.records.at(-1);
    if (!first || !last || last === first) return 0;
    const seconds = (last.at - first.at) / 1000;
    const delta = (last.totals.get(key) ?? 0) - (first.totals.get(key) ?? 0);
    return Math.round((Math.max(delta, 0) / seconds) * 100) / 100;
  }
}
