import type { Broker, Publication } from '../brokers/broker.js';
import { SwitchboardError } from '../errors.js';

/** A revoked token (by jti) or user (tokens issued before `issuedBefore`), until `expiresAt`. */
export interface Revocation {
  jti?: string;
  user?: string;
  issuedBefore?: number;
  expiresAt: number;
}

/**
 * The internal channel revocations travel on. It keeps history in the broker, so a node that
 * starts (or restarts) reads every revocation still in force; `$` cannot appear in a client's
 * channel name.
 */
export const revocationChannel = '$revocations';
const history = { size: 100_000, ttl: 0 };

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

  constructor(
    private readonly broker: Broker,
    /** Called for each revocation that arrives, so live sessions it matches can be closed. */
    private readonly onRevoked: (revocation: Revocation) => void,
  ) {}

  /** Subscribes to the revocation channel and loads what is in force. */
  async start(): Promise<void> {
    await this.broker.subscribe(revocationChannel);
    const { publications } = await this.broker.history(revocationChannel, {});
    for (const pub of publications) this.apply(pub.data as Revocation);
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
