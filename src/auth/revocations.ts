import type { Broker, Publication, StreamPosition } from '../brokers/broker.js';
import { SwitchboardError } from '../protocol/errors.js';

/** A revoked token (by jti) or user (tokens issued before `issuedBefore`), until `expiresAt`. */
export interface Revocation {
  jti?: string;
  user?: string;
  issuedBefore?: number;
  expiresAt: number;
}

/**
 * The internal channel revocations travel on. It keeps history in the broker, so a node that
 * starts (or restarts) reads every revocation still in force, and one whose broker connection comes
 * back reads those it missed; `$` cannot appear in a client's channel name.
 */
export const revocationChannel = '$revocations';
const history = { size: 100_000, ttl: 0 };
/** How long a failed catch-up read waits before it tries again, in ms. */
const catchUpRetry = 500;

/** What the node knows to identify a session's credentials. */
export interface Credentials {
  user: string;
  jti?: string;
  /** When the token was issued (or the session was authorized), ms since the epoch. */
  issuedAt: number;
}

/** Revocations in force on this node, kept in step with the cluster through the broker. */
export class RevocationList {
  private readonly byJti = new Map<string, number>();
  private readonly byUser = new Map<string, { issuedBefore: number; expiresAt: number }>();
  /** The position of the newest revocation applied; revocations arrive live only while the broker connection holds. */
  private position: StreamPosition = { offset: 0, epoch: '' };
  /** Revocations may have been missed (the broker connection came back, or a gap in the live stream) and are being read. */
  private behind = false;
  private reading: Promise<void> | undefined;
  /** Another catch-up was asked for while one was reading. */
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly broker: Broker,
    /** Called for each revocation that arrives, so live sessions it matches can be closed. */
    private readonly onRevoked: (revocation: Revocation) => void,
  ) {}

  /** False while this node may lack revocations the cluster has: it is not ready meanwhile. */
  get inStep(): boolean {
    return !this.behind;
  }

  /** Subscribes to the revocation channel and loads what is in force. */
  async start(): Promise<void> {
    await this.broker.subscribe(revocationChannel);
    const { publications, position } = await this.broker.history(revocationChannel, {});
    for (const pub of publications) this.apply(pub.data as Revocation);
    this.advance(position);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  /**
   * Reads the revocations published after the last one applied (every one kept, when the stream
   * was lost meanwhile), applies them and closes the sessions they name. Called when the broker
   * connection is back: live publications of the outage never arrive.
   */
  catchUp(): void {
    this.behind = true;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readMissed().finally(() => {
      this.reading = undefined;
    });
  }

  private async readMissed(): Promise<void> {
    do {
      this.again = false;
      let result;
      try {
        result = await this.broker.history(revocationChannel, { since: this.position });
      } catch {
        // The broker went away again (its reconnection asks anew) or answered late: try again soon.
        clearTimeout(this.retryTimer);
        if (!this.stopped) this.retryTimer = setTimeout(() => this.catchUp(), catchUpRetry).unref();
        return;
      }
      for (const pub of result.publications) {
        const revocation = pub.data as Revocation;
        this.apply(revocation);
        this.onRevoked(revocation);
      }
      this.advance(result.position);
    } while (this.again);
    this.behind = false;
  }

  private advance(position: StreamPosition): void {
    if (position.epoch !== this.position.epoch || position.offset > this.position.offset) this.position = position;
  }

  /** Records a revocation cluster-wide. */
  async revoke(revocation: Revocation): Promise<void> {
    if (!revocation.jti && !revocation.user) throw new SwitchboardError('bad_request', 'a revocation names a jti or a user');
    await this.broker.publish({ channel: revocationChannel, data: revocation, time: Date.now() }, { history });
  }

  /** A publication on the revocation channel, from this node or another. */
  receive(pub: Publication): void {
    const revocation = pub.data as Revocation;
    this.apply(revocation);
    this.onRevoked(revocation);
    if (pub.offset === undefined) return;
    const known = this.position;
    const next = known.epoch === '' ? 1 : known.offset + 1;
    if ((known.epoch === '' || pub.epoch === known.epoch) && pub.offset <= next) this.advance({ offset: pub.offset, epoch: pub.epoch! });
    else this.catchUp(); // a gap: some were missed (or a new stream began); read them by position
  }

  private apply(revocation: Revocation): void {
    if (revocation.expiresAt <= Date.now()) return;
    if (revocation.jti) this.byJti.set(revocation.jti, Math.max(this.byJti.get(revocation.jti) ?? 0, revocation.expiresAt));
    if (revocation.user) {
      const known = this.byUser.get(revocation.user);
      const issuedBefore = revocation.issuedBefore ?? revocation.expiresAt;
      this.byUser.set(revocation.user, {
        issuedBefore: Math.max(known?.issuedBefore ?? 0, issuedBefore),
        expiresAt: Math.max(known?.expiresAt ?? 0, revocation.expiresAt),
      });
    }
  }

  isRevoked(credentials: Credentials, now = Date.now()): boolean {
    if (credentials.jti) {
      const until = this.byJti.get(credentials.jti);
      if (until !== undefined) {
        if (until > now) return true;
        this.byJti.delete(credentials.jti);
      }
    }
    const user = this.byUser.get(credentials.user);
    if (user) {
      if (user.expiresAt <= now) this.byUser.delete(credentials.user);
      else if (credentials.issuedAt < user.issuedBefore) return true;
    }
    return false;
  }

  /** Whether a revocation applies to these credentials (for closing live sessions). */
  static matches(revocation: Revocation, credentials: Credentials): boolean {
    if (revocation.jti && revocation.jti === credentials.jti) return true;
    return revocation.user === credentials.user && credentials.issuedAt < (revocation.issuedBefore ?? revocation.expiresAt);
  }
}
