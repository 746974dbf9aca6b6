import { Histogram, clockMs } from './histogram.js';

export interface LoopResult {
  /** Units done per second (requests, or messages for batches). */
  perSecond: number;
  /** Latency of the successful calls. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Calls that failed (returned 0 or threw). */
  errors: number;
}

/**
 * Runs `one` from `loops` concurrent loops, each calling it again as soon as it is answered, for
 * `ms`. `one` resolves with the units it did (1 for a request, the batch size for a batch); 0 or
 * an exception counts as a failed call.
 */
export async function closedLoop(ms: number, loops: number, one: (loop: number) => Promise<number>): Promise<LoopResult> {
  const histogram = new Histogram();
  let units = 0;
  let errors = 0;
  const start = clockMs();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      while (clockMs() < end) {
        const t0 = clockMs();
        const done = await one(loop).catch(() => 0);
        if (done > 0) {
          units += done;
          histogram.record(clockMs() - t0);
        } else errors += 1;
      }
    }),
  );
  const seconds = (clockMs() - start) / 1000;
  return { perSecond: Math.round(units / seconds), p50Ms: histogram.percentile(50), p99Ms: histogram.percentile(99), errors };
}
