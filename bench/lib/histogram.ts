/**
 * Latency histogram with 0.1 ms buckets up to 10 s (one overflow bucket above). Workers record,
 * send the non-empty buckets, and the orchestrator merges them into percentiles.
 */
const BUCKETS_PER_MS = 10;
const MAX_MS = 10_000;
const SIZE = MAX_MS * BUCKETS_PER_MS + 1;

export type SparseHistogram = { buckets: number[]; max: number; count: number };

export class Histogram {
  private counts = new Uint32Array(SIZE);
  count = 0;
  max = 0;

  record(ms: number): void {
    if (!(ms >= 0)) ms = 0;
    let i = Math.floor(ms * BUCKETS_PER_MS);
    if (i >= SIZE) i = SIZE - 1;
    this.counts[i]! += 1;
    this.count += 1;
    if (ms > this.max) this.max = ms;
  }

  reset(): void {
    if (this.count > 0) this.counts.fill(0);
    this.count = 0;
    this.max = 0;
  }

  /** Non-empty buckets as a flat [index, count, index, count, ...] list. */
  toSparse(): SparseHistogram {
    const buckets: number[] = [];
    if (this.count > 0) {
      for (let i = 0; i < SIZE; i++) if (this.counts[i] !== 0) buckets.push(i, this.counts[i]!);
    }
    return { buckets, max: this.max, count: this.count };
  }

  merge(sparse: SparseHistogram): void {
    const b = sparse.buckets;
    for (let i = 0; i < b.length; i += 2) this.counts[b[i]!]! += b[i + 1]!;
    this.count += sparse.count;
    if (sparse.max > this.max) this.max = sparse.max;
  }

  /** The value at or below which p percent of the samples fall (bucket upper bound), in ms. */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min((i + 1) / BUCKETS_PER_MS, this.max);
    }
    return this.max;
  }
}

/** Monotonic milliseconds shared by every process on the machine (CLOCK_MONOTONIC), µs resolution. */
export function clockMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}
