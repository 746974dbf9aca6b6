/** Exponential backoff with full jitter: a random delay between 0 and min(max, base * 2^attempt). */
export function backoffDelay(attempt: number, base: number, max: number, random: () => number = Math.random): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}
