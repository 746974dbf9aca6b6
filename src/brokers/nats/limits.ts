import type { StreamConfig } from '@nats-io/jetstream';
import type { HistoryOptions } from '../broker.js';

/** Node clocks may disagree a little; the history stream's max age leaves them this much room. */
const CLOCK_MARGIN = 60_000;
const TEN_YEARS = 10 * 365 * 24 * 3600_000;
/** Presence entries are filtered by their own expiry; the bucket's max age only collects the garbage of dead nodes. */
export const PRESENCE_MIN_MAX_AGE = 10 * 60_000;

/** The history stream's limits in milliseconds (max age 0: none). */
export interface Limits {
  perSubject: number;
  maxAge: number;
}

/** What the stream must keep for a channel with these options: every kept publication of a live epoch. */
export function limitsFor(history: HistoryOptions): Limits {
  const size = Math.max(1, history.size);
  // Within one epoch consecutive publications are at most ttl apart (else the epoch ended), and the
  // newest is younger than ttl: the oldest kept one is younger than (size + 1) * ttl.
  const maxAge = history.ttl > 0 ? Math.min((size + 1) * history.ttl + CLOCK_MARGIN, TEN_YEARS) : 0;
  return { perSubject: size, maxAge };
}

export function covers(have: Limits, need: Limits): boolean {
  return have.perSubject >= need.perSubject && (have.maxAge === 0 || (need.maxAge !== 0 && have.maxAge >= need.maxAge));
}

export function merge(a: Limits, b: Limits): Limits {
  return { perSubject: Math.max(a.perSubject, b.perSubject), maxAge: a.maxAge === 0 || b.maxAge === 0 ? 0 : Math.max(a.maxAge, b.maxAge) };
}

/** A stream's max age in milliseconds (JetStream counts nanoseconds). */
export const maxAgeOf = (config: StreamConfig) => Math.round(config.max_age / 1e6);

export function limitsOf(config: StreamConfig): Limits {
  return { perSubject: config.max_msgs_per_subject, maxAge: maxAgeOf(config) };
}

/** The duplicate window in nanoseconds: it may not exceed the max age; publications carry no message id anyway. */
export function duplicateWindow(limits: Limits): number {
  return Math.min(120_000, limits.maxAge || 120_000) * 1e6;
}

/** The presence bucket's max age for entries of this ttl: well above it, and never under the minimum. */
export function presenceMaxAge(ttl: number): number {
  return Math.max(PRESENCE_MIN_MAX_AGE, 2 * ttl);
}
