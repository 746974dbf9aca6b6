import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The header a `POST /frames?session=` request carries its session's secret in. */
export const sessionSecretHeader = 'x-switchboard-session-secret';

/** What travels between nodes instead of a secret: its SHA-256, hex. */
export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * The secret of each session opened on this node, handed to the client in its `welcome` frame and
 * required by `POST /frames?session=`: an HMAC of the session id with a key only this node knows,
 * so nothing is stored per session and only the node holding the session can check it (the
 * request may land on another node, which asks over the control bus with the secret's digest).
 */
export class SessionSecrets {
  private readonly key = randomBytes(32);

  of(session: string): string {
    return createHmac('sha256', this.key).update(session).digest('base64url');
  }

  /** Whether `digest` is the digest of this session's secret, compared in constant time. */
  matches(session: string, digest: string): boolean {
    const expected = Buffer.from(secretDigest(this.of(session)), 'hex');
    const given = Buffer.from(digest, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
