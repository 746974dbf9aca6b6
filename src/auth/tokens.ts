import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWK, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import type { Config } from '../config/schema.js';
import { SwitchboardError } from '../protocol/errors.js';

export interface VerifiedToken {
  user: string;
  claims: JWTPayload;
  /** ms since the epoch; undefined when the token has no exp. */
  expiresAt?: number;
  issuedAt?: number;
  jti?: string;
}

/** Why a token was refused; the label of switchboard_auth_failures_total. */
export type TokenFailure = 'malformed' | 'too_large' | 'expired' | 'not_yet_valid' | 'claims' | 'signature' | 'algorithm' | 'no_key' | 'no_user' | 'revoked' | 'keys_unavailable';

export class TokenError extends SwitchboardError {
  constructor(
    readonly reason: TokenFailure,
    message: string,
    code: 'unauthorized' | 'unavailable' = 'unauthorized',
  ) {
    super(code, message);
  }
}

/** A static key and the one algorithm its type allows (no algorithm confusion). */
interface StaticKey {
  alg: string;
  key: KeyObject;
}

/** A PEM public key with the algorithm its type allows: RSA keys RS256, P-256 keys ES256, Ed25519 keys EdDSA. */
function staticKey(pem: string): StaticKey {
  const key = createPublicKey(pem);
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { alg: 'RS256', key };
    case 'ec': {
      const crv = (key.export({ format: 'jwk' }) as JWK).crv;
      if (crv !== 'P-256') throw new Error(`EC public keys must use P-256 (ES256), got ${crv}`);
      return { alg: 'ES256', key };
    }
    case 'ed25519':
      return { alg: 'EdDSA', key };
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

type VerifyKey = KeyObject | Uint8Array | CryptoKey;

/**
 * Verifies client JWTs (and subscription tokens) with jose: static HMAC secrets and PEM public
 * keys, and/or a JWKS URL with caching and rate-limited refetch. The algorithm must be in the
 * allow-list and match the key's type (HMAC secrets for HS*, a key's own algorithm for public
 * keys); `none` is never accepted. Several keys of one kind (rotation) are each tried.
 */
export class TokenVerifier {
  readonly enabled: boolean;
  private readonly secrets: Uint8Array[];
  private readonly publicKeys: StaticKey[];
  private readonly remote: JWTVerifyGetKey | undefined;
  private readonly config: Config['auth']['jwt'];

  constructor(config: Config['auth']['jwt']) {
    this.config = config;
    this.secrets = config.secrets.map((secret) => new TextEncoder().encode(secret));
    this.publicKeys = config.publicKeys.map(staticKey);
    if (config.jwksUrl) {
      const remote = createRemoteJWKSet(new URL(config.jwksUrl), { cacheMaxAge: config.jwksCacheMaxAge, cooldownDuration: config.jwksCooldown });
      this.remote = async (header, input) => {
        try {
          return await remote(header, input);
        } catch (err) {
          if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported) throw err;
          // The key set could not be fetched (unreachable, HTTP error, timeout, not a key set): not the token's fault.
          throw new TokenError('keys_unavailable', 'the token keys could not be fetched; try again', 'unavailable');
        }
      };
    }
    this.enabled = this.secrets.length > 0 || this.publicKeys.length > 0 || this.remote !== undefined;
  }

  async verify(token: string, audience?: string): Promise<VerifiedToken> {
    if (!this.enabled) throw new TokenError('no_key', 'this node does not accept tokens');
    if (Buffer.byteLength(token) > this.config.maxTokenBytes) throw new TokenError('too_large', `token is larger than ${this.config.maxTokenBytes} bytes`);
    let alg: unknown;
    try {
      ({ alg } = decodeProtectedHeader(token));
    } catch {
      throw new TokenError('malformed', 'token is malformed');
    }
    if (typeof alg !== 'string' || !this.config.algorithms.includes(alg)) throw new TokenError('algorithm', 'token algorithm is not accepted');
    const options: JWTVerifyOptions = {
      algorithms: this.config.algorithms,
      issuer: this.config.issuer || undefined,
      audience: audience ?? (this.config.audience || undefined),
      clockTolerance: this.config.clockSkew / 1000,
    };
    const keys: VerifyKey[] = alg.startsWith('HS') ? this.secrets : this.publicKeys.filter((k) => k.alg === alg).map((k) => k.key);
    let claims: JWTPayload | undefined;
    let failure: unknown = new errors.JWKSNoMatchingKey();
    for (const key of keys) {
      try {
        ({ payload: claims } = await jwtVerify(token, key, options));
        break;
      } catch (err) {
        // A signature that does not verify may be for another key; anything else is final.
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw fail(err);
        failure = err;
      }
    }
    if (!claims && this.remote && !alg.startsWith('HS')) claims = await this.verifyRemote(token, options, failure);
    if (!claims) throw fail(failure);
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

  /** Verifies with the JWKS keys: the one the token's kid (and algorithm) names, or each candidate. */
  private async verifyRemote(token: string, options: JWTVerifyOptions, staticFailure: unknown): Promise<JWTPayload> {
    try {
      return (await jwtVerify(token, this.remote!, options)).payload;
    } catch (err) {
      if (err instanceof errors.JWKSMultipleMatchingKeys) {
        let failure: unknown = err;
        for await (const candidate of err as unknown as AsyncIterable<CryptoKey>) {
          try {
            return (await jwtVerify(token, candidate, options)).payload;
          } catch (e) {
            if (!(e instanceof errors.JWSSignatureVerificationFailed)) throw fail(e);
            failure = e;
          }
        }
        throw fail(failure);
      }
      if (err instanceof errors.JWKSNoMatchingKey && staticFailure instanceof errors.JWSSignatureVerificationFailed) throw fail(staticFailure);
      throw fail(err);
    }
  }
}
