import type { Session } from '../sessions/session.js';
import { wireFormatNames } from '../protocol/wire.js';

export interface OpenedSession {
  id: string;
  user: string;
  transport: string;
  remote: string;
  connectedAt: string;
}

export interface ClosedSession {
  id: string;
  user: string;
  reason: string;
}

/** What `$admin:sessions` carries: one node's sessions opened and closed since its last batch. */
export interface SessionEvents {
  node: string;
  opened: OpenedSession[];
  closed: ClosedSession[];
  /** Events left out of this batch because it was full. */
  dropped: number;
}

/**
 * Collects sessions opened and closed on this node and hands them over in one batch at most once
 * per `period`; a batch holds at most `maxBatch` events (admin.maxSessionEvents), the rest are counted as dropped.
 */
export class SessionEventBatcher {
  private opened: OpenedSession[] = [];
  private closed: ClosedSession[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly node: string,
    private readonly send: (events: SessionEvents) => void,
    private readonly maxBatch: number,
    /** Called for each event left out of a full batch. */
    private readonly onDropped: () => void,
    private readonly period = 1000,
  ) {}

  sessionOpened(session: Session): void {
    this.add(() =>
      this.opened.push({
        id: session.id,
        user: session.user,
        transport: wireFormatNames[session.format]!,
        remote: session.remote,
        connectedAt: new Date(session.connectedAt).toISOString(),
      }),
    );
  }

  sessionClosed(session: Session, reason: string): void {
    this.add(() => this.closed.push({ id: session.id, user: session.user, reason }));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private add(push: () => void): void {
    if (this.stopped) return;
    if (this.opened.length + this.closed.length >= this.maxBatch) {
      this.dropped += 1;
      this.onDropped();
    } else {
      push();
    }
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.period);
    this.timer.unref();
  }

  private flush(): void {
    this.timer = undefined;
    const events: SessionEvents = { node: this.node, opened: this.opened, closed: this.closed, dropped: this.dropped };
    this.opened = [];
    this.closed = [];
    this.dropped = 0;
    this.send(events);
  }
}
