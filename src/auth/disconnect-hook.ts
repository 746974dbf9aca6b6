import type { Logger } from 'pino';
import { backoffDelay } from '../backends/backoff.js';
import type { Config } from '../config/schema.js';
import type { Stats } from '../observability/metrics.js';
import { callHook, HookFailure } from './hooks.js';

/** What the hook is told of a session that ended. */
export interface EndedSession {
  readonly id: string;
  readonly user: string;
  readonly context: unknown;
  /** ms since the epoch. */
  readonly connectedAt: number;
}

/**
 * hydrogen's OnDisconnect: tells a backend that a session ended. Runs in the background; failed
 * calls are retried a bounded number of times with growing delays, then logged and dropped.
 */
export class DisconnectHook {
  constructor(
    private readonly config: Config['auth']['disconnectHook'],
    private readonly maxJsonDepth: number,
    private readonly stats: Stats,
    private readonly log: Logger,
  ) {}

  notify(session: EndedSession, reason: string, node: string): void {
    const body = {
      session: session.id,
      user: session.user,
      context: session.context,
      reason,
      node,
      connectedAt: new Date(session.connectedAt).toISOString(),
      durationMs: Date.now() - session.connectedAt,
    };
    void this.deliver(body, 0);
  }

  private async deliver(body: { session: string }, attempt: number): Promise<void> {
    try {
      await callHook(this.config.url, body, this.config.timeout, this.maxJsonDepth);
      this.stats.hookCall('disconnect', 'allow');
    } catch (err) {
      const failure = err as HookFailure;
      this.stats.hookCall('disconnect', failure.outcome);
      if (attempt >= this.config.retries) {
        this.log.warn({ event: 'hook.disconnect_dropped', session: body.session, attempts: attempt + 1, err: failure.message }, 'disconnect hook failed; giving up');
        return;
      }
      const delay = backoffDelay({ initial: 200, max: 10_000, jitter: 'half' }, attempt + 1);
      setTimeout(() => void this.deliver(body, attempt + 1), delay).unref();
    }
  }
}
