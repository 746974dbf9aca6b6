import { createPublicKey } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Config } from '../config/schema.js';
import { SwitchboardError } from '../errors.js';

export interface VerifiedToken {
  user: string;
  claims: JWTPayload;
  /** ms since the epoch; undefined when the token has no exp. */
  expiresAt?: number;
  issuedAt?: number;
  jti?: string;
}

/** Why a token was refused; the label of switchboard_auth_failures_total. */
export type TokenFailure = 'malformed' | 'too_large' | 'expired' | 'not_yet_valid' | 'claims' | 'signature' | 'algorithm' | 'no_key' | 'no_user' | 'revoked';

export class TokenError extends SwitchboardError {
  constructor(
    readonly reason: TokenFailure,
    message: string,
  ) {
    super('unauthorized', message);
  }
}

/** A static PEM public key as a JWK with the one algorithm its type allows (no algorithm confusion). */
function publicJwk(pem: string): JWK {
  const key = createPublicKey(pem);
  const jwk = key.export({ format: 'jwk' }) as JWK;
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { ...jwk, alg: 'RS256' };
    case 'ec':
      if (jwk.crv !== 'P-256') throw new Error(`EC public keys must use P-256 (ES256), got ${jwk.crv}`);
      return { ...jwk, alg: 'ES256' };
    case 'ed25519':
      return { ...jwk, alg: 'EdDSA' };
    default:
      throw new Error(`unsupported public key type ${key.asymmetricKeyType}`);
  }
}

function fail(err: unknown): TokenError {
  if (err instanceof TokenError) return err;
  if (err instanceof errors.JWTExpired) return new TokenError('expired', 'token expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    return err.claim === 'nbf' ? new TokenError('not_yet_valid', 'token is not valid yet') : new TokenError('claims', `token claim ${err.claim} is not accepted`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new TokenError('signature', 'token signature does not verify');
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return new TokenError('algorithm', 'token algorithm is not accepted');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return new TokenError('no_key', 'no configured key matches the token');
  return new TokenError('malformed', 'token is malformed');
}

/**
 * Verifies client JWTs (and subscription tokens) with jose: static HMAC secrets and PEM public
 * keys, and/or a JWKS URL with caching and rate-limited refetch. The algorithm must be in the
 * allow-list and match the key's type; `none` is never accepted.
 */
export class TokenVerifier {
  readonly enabled: boolean;
  private readonly getKey: JWTVerifyGetKey | undefined;
  private readonly config: Config['auth']['jwt'];

  constructor(config: Config['auth']['jwt']) {
    this.config = config;
    const keys: JWK[] = [
      ...config.secrets.map((secret): JWK => ({ kty: 'oct', k: Buffer.from(secret).toString('base64url') })),
      ...config.publicKeys.map(publicJwk),
    ];
    const local = keys.length > 0 ? createLocalJWKSet({ keys } as JSONWebKeySet) : undefined;
    const remote = config.jwksUrl
      ? createRemoteJWKSet(new URL(config.jwksUrl), { cacheMaxAge: config.jwksCacheMaxAge, cooldownDuration: config.jwksCooldown })
      : undefined;
    this.enabled = local !== undefined || remote !== undefined;
    if (local && remote) {
      this.getKey = async (header, token) => {
        try {
          return await local(header, token);
        } catch (err) {
          if (err instanceof errors.JWKSNoMatchingKey) return remote(header, token);
          throw err;
        }
      };
    } else {
      this.getKey = local ?? remote;
    }
  }

  async verify(token: string, audience?: string): Promise<VerifiedToken> {
    if (!this.getKey) throw new TokenError('no_key', 'this node does not accept tokens');
    if (Buffer.byteLength(token) > this.config.maxTokenBytes) throw new TokenError('too_large', `token is larger than ${this.config.maxTokenBytes} bytes`);
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, this.getKey, {
        algorithms: this.config.algorithms,
        issuer: this.config.issuer || undefined,
        audience: audience ?? (this.config.audience || undefined),
        clockTolerance: this.config.clockSkew / 1000,
      }));
    } catch (err) {
      throw fail(err);
    }
    const user = claims[this.config.userClaim];
    if (typeof user !== 'string' || user === '') throw new TokenError('no_user', `token has no ${this.config.userClaim} claim naming the user`);
    return {
      user,
      claims,
      expiresAt: claims.exp === undefined ? undefined : claims.exp * 1000,
      issuedAt: claims.iat === undefined ? undefined : claims.iat * 1000,
      jti: claims.jti,
    };
  }
}
