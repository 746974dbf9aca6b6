import type { RedisClient } from '../backends/redis.js';
import type { Logger } from 'pino';

export interface RateDecision {
  allowed: boolean;
  /** ms until the window resets. */
  resetIn: number;
}

/** Fixed-window request counting: `limit` requests per `windowMs` and key. */
export interface RateLimiter {
  take(key: string, limit: number, windowMs: number): Promise<RateDecision>;
}

/** Counts on this node alone. */
export class LocalRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  async take(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    return this.takeNow(key, limit, windowMs);
  }

  takeNow(key: string, limit: number, windowMs: number): RateDecision {
    const now = Date.now();
    const start = now - (now % windowMs);
    let w = this.windows.get(key);
    if (!w || w.start !== start) {
      if (this.windows.size > 100_000) this.prune(now, windowMs);
      w = { start, count: 0 };
      this.windows.set(key, w);
    }
    w.count += 1;
    return { allowed: w.count <= limit, resetIn: start + windowMs - now };
  }

  private prune(now: number, windowMs: number): void {
    for (const [key, w] of this.windows) if (w.start + windowMs <= now) this.windows.delete(key);
  }
}

/** INCR the window's counter and give it an expiry when it is new; answers the count and the time left. */
const takeScript = `
local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
return {n, redis.call('pttl', KEYS[1])}
`;

type WithTake = { sbGatewayTake(key: string, windowMs: number): Promise<[number, number]> };

/**
 * Counts in Redis, so every node shares each window: one key per route, client key and window,
 * expiring with the window. While Redis cannot be reached the node counts on its own.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly fallback = new LocalRateLimiter();
  private readonly client: RedisClient & WithTake;

  constructor(
    client: RedisClient,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    client.defineCommand('sbGatewayTake', { numberOfKeys: 1, lua: takeScript });
    this.client = client as RedisClient & WithTake;
  }

  async take(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    try {
      const [count, ttl] = await this.client.sbGatewayTake(`${this.prefix}gateway:rate:{${key}}:${window}`, windowMs);
      return { allowed: count <= limit, resetIn: ttl > 0 ? ttl : windowMs - (now % windowMs) };
    } catch (err) {
      this.log.warn({ event: 'gateway.rate_limit_local', err: (err as Error).message }, 'rate limit counted on this node only: redis is unavailable');
      return this.fallback.takeNow(key, limit, windowMs);
    }
  }
}
