import { CloseCodes } from '../protocol/errors.js';
import type { SessionRegistry } from './registry.js';
import type { Session } from './session.js';

export interface HeartbeatOptions {
  interval: number;
  closeGracePeriod: number;
}

/**
 * One timer for all sessions: sends heartbeats when due, closes sessions that did not answer
 * within the grace period, and closes sessions whose lifetime is over. A per-session timer would
 * cost memory and timer churn at tens of thousands of connections.
 */
export class HeartbeatClock {
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private lastSweepAt = 0;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly options: HeartbeatOptions,
    /** Called for a session whose lifetime is over. */
    private readonly onExpired: (session: Session) => void,
    /** Called for a session whose credentials expired (and again at its refresh deadline). */
    private readonly onCredentialsExpired: (session: Session, now: number) => void,
  ) {}

  start(): void {
    this.tick = Math.max(50, Math.min(this.options.interval, this.options.closeGracePeriod) / 2);
    this.timer = setInterval(() => this.sweep(Date.now()), this.tick);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** First heartbeat time for a new session: spread over one interval so heartbeats do not bunch up. */
  firstHeartbeatAt(now: number): number {
    return now + this.options.interval * (0.5 + Math.random() * 0.5);
  }

  sweep(now: number): void {
    // A sweep that runs late means this process was stalled (GC, CPU starvation): answers to
    // heartbeats may be waiting unread in socket buffers, and timers run before sockets are read.
    // Judge idleness again on the next, punctual sweep instead of closing healthy clients.
    const stalled = this.tick > 0 && this.lastSweepAt > 0 && now - this.lastSweepAt > this.tick * 2;
    this.lastSweepAt = now;
    for (const session of this.registry.all()) {
      if (!session.isOpen) continue;
      if (session.expiresAt !== 0 && now >= session.expiresAt) {
        this.onExpired(session);
        continue;
      }
      if (session.credentialsExpireAt !== 0 && now >= session.credentialsExpireAt && (session.refreshDeadline === 0 || now >= session.refreshDeadline)) {
        this.onCredentialsExpired(session, now);
        if (!session.isOpen) continue;
      }
      if (session.heartbeatSentAt !== 0) {
        if (session.lastSeen >= session.heartbeatSentAt) {
          session.heartbeatSentAt = 0;
        } else if (!stalled && now - session.heartbeatSentAt > this.options.closeGracePeriod) {
          session.close(CloseCodes.idleTimeout, 'idle_timeout', { type: 'disconnect', code: CloseCodes.idleTimeout, reason: 'idle_timeout' });
          continue;
        }
      }
      if (now >= session.nextHeartbeatAt) {
        session.heartbeat();
        if (session.heartbeatSentAt === 0 && session.expectsHeartbeatAnswer) session.heartbeatSentAt = now;
        session.nextHeartbeatAt = now + this.options.interval;
      }
    }
  }
}
