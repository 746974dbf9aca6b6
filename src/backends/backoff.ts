/**
 * How long to wait between attempts: `initial` before the first retry, multiplied by `factor`
 * (default 2) for each further one, capped at `max`, then spread by `jitter` so that nodes that
 * failed together do not retry in step.
 */
export interface BackoffPolicy {
  /** ms before the first retry. */
  initial: number;
  /** Longest wait in ms. */
  max: number;
  factor?: number;
  /** none: the delay itself; full: anywhere from 0 to it; half: from half of it to all of it. */
  jitter: 'none' | 'full' | 'half';
}

/** The wait before retry number `attempt` (1 for the first), in whole ms. */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const growth = (policy.factor ?? 2) ** Math.min(Math.max(attempt - 1, 0), 30);
  return Math.round(Math.min(policy.max, policy.initial * growth) * spread(policy.jitter));
}

/** A random share of a delay as the jitter allows. */
function spread(jitter: BackoffPolicy['jitter']): number {
  switch (jitter) {
    case 'none':
      return 1;
    case 'full':
      return Math.random();
    case 'half':
      return 0.5 + Math.random() / 2;
  }
}

/** Attempts in a row under one policy: `next()` after a failure, `reset()` after a success. */
export class Backoff {
  private attempts = 0;

  constructor(private readonly policy: BackoffPolicy) {}

  next(): number {
    return backoffDelay(this.policy, ++this.attempts);
  }

  reset(): void {
    this.attempts = 0;
  }
}

/**
 * Waits that grow with how long an outage has lasted rather than with a count of attempts, for a
 * client that asks for the delay more than once per attempt (nats.js): half the time the outage
 * has lasted, within the policy's initial and max, so each wait is about 1.5 times the one before.
 * The jitter is drawn once per outage, so the answers of one outage agree.
 */
export class OutageBackoff {
  private since = 0;
  private share = 1;

  constructor(private readonly policy: BackoffPolicy) {}

  /** The connection is down; the outage counts from the first call until `recovered`. */
  down(): void {
    if (this.since) return;
    this.since = Date.now();
    this.share = spread(this.policy.jitter);
  }

  recovered(): void {
    this.since = 0;
  }

  delay(): number {
    const lasted = this.since ? Date.now() - this.since : 0;
    return Math.min(Math.max(this.policy.initial, lasted / 2), this.policy.max) * this.share;
  }
}

/** Reconnecting to Redis: 200 ms doubling up to 5 s, with jitter so nodes do not reconnect in step. */
export const reconnectBackoff: BackoffPolicy = { initial: 200, max: 5000, jitter: 'half' };
