import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { Stats } from '../observability/metrics.js';
import { askHook, denied, HookFailure } from './hooks.js';
import { anonymousIdentity, claimHolds, type ConsoleRole, type Identity } from './identity.js';
import type { RevocationList } from './revocations.js';
import { TokenError, type TokenVerifier, type VerifiedToken } from './tokens.js';

/** What is known of a connection request before it is accepted. */
export interface ConnectRequest {
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
  remote: string;
  transport: string;
}

/** The token a request carries: Authorization: Bearer, ?token=, or the configured cookie. */
export function tokenOf(req: ConnectRequest, cookieName: string): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const query = req.query.get('token');
  if (query) return query;
  const cookies = req.headers.cookie;
  if (!cookies || !cookieName) return undefined;
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === cookieName) return cookieValue(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** A percent-decoded cookie value; one that is not valid percent-encoding is kept as it is, and fails verification like any bad token. */
function cookieValue(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function headersForHook(headers: IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) result[name] = Array.isArray(value) ? value.join(', ') : value;
  return result;
}

/** How the admin console signs in over a client transport (admin.enabled). */
export interface ConsoleSignIn {
  /** The role of an admin or read-only key; undefined for anything else. */
  roleOfKey(credential: string): ConsoleRole | undefined;
  /** The JWT claim naming a console role. */
  readonly roleClaim: string;
}

/** The user console sessions signed in with a key have. */
export const consoleKeyUser = 'admin';

function isConsoleRole(value: unknown): value is ConsoleRole {
  return value === 'admin' || value === 'read-only';
}

/**
 * Decides who a connection is: a verified token, else the connect hook's answer, else anonymous
 * when allowed. Refusals are SwitchboardErrors (unauthorized / forbidden / unavailable), counted.
 */
export class Authenticator {
  constructor(
    private readonly config: Config['auth'],
    private readonly verifier: TokenVerifier,
    private readonly revocations: RevocationList,
    private readonly stats: Stats,
    private readonly log: Logger,
    /** Deepest JSON nesting accepted in the connect hook's answer (limits.maxJsonDepth). */
    private readonly maxJsonDepth: number,
    private readonly console?: ConsoleSignIn,
  ) {}

  /**
   * A WebSocket without credentials must then send its token in a first `connect` frame; one that
   * asks with `?auth=frame` does, even where anonymous clients or a connect hook need no token.
   */
  needsFirstFrame(req: ConnectRequest): boolean {
    if (tokenOf(req, this.config.jwt.cookie) !== undefined) return false;
    if (req.query.get('auth') === 'frame') return true;
    return (this.verifier.enabled || this.console !== undefined) && !this.config.anonymous && !this.config.connectHook.url;
  }

  async authenticate(req: ConnectRequest, firstFrameToken?: string): Promise<Identity> {
    // Console keys sign in only from a first frame: never from a URL or a cookie.
    const role = firstFrameToken !== undefined ? this.console?.roleOfKey(firstFrameToken) : undefined;
    if (role) return { user: consoleKeyUser, context: { role, via: 'key' }, privileged: false, channels: [], issuedAt: Date.now(), consoleRole: role };
    if (firstFrameToken !== undefined && this.console && !this.verifier.enabled && !this.config.connectHook.url) {
      this.stats.authFailure('unknown_key');
      throw new SwitchboardError('unauthorized', "the connect frame's token is not a console key, and this node verifies no client tokens");
    }
    const token = firstFrameToken ?? tokenOf(req, this.config.jwt.cookie);
    if (token !== undefined && this.verifier.enabled) return this.identityOf(await this.verify(token));
    if (this.config.connectHook.url) return this.fromHook(req, token);
    if (this.config.anonymous) return anonymousIdentity();
    this.stats.authFailure('missing');
    throw new SwitchboardError('unauthorized', 'a token is required (Authorization: Bearer, ?token=, cookie, or a first connect frame)');
  }

  /** Verifies a token (connect or refresh) and checks it is not revoked. */
  async verify(token: string): Promise<VerifiedToken> {
    try {
      const verified = await this.verifier.verify(token);
      if (this.revocations.isRevoked({ user: verified.user, jti: verified.jti, issuedAt: verified.issuedAt ?? 0 })) {
        throw new TokenError('revoked', 'token has been revoked');
      }
      return verified;
    } catch (err) {
      if (err instanceof TokenError) this.stats.authFailure(err.reason);
      throw err;
    }
  }

  /** The identity a verified token gives (at connect, and again at every refresh). */
  identityOf(token: VerifiedToken): Identity {
    const claims = token.claims as Record<string, unknown>;
    const role = this.console && claims[this.console.roleClaim];
    return {
      consoleRole: isConsoleRole(role) ? role : undefined,
      user: token.user,
      context: claims,
      privileged: claimHolds(claims[this.config.privilegedClaim], this.config.privilegedValue),
      channels: [],
      expiresAt: token.expiresAt,
      jti: token.jti,
      issuedAt: token.issuedAt ?? Date.now(),
    };
  }

  /** hydrogen's authorizer: the hook sees the request and answers allow/deny, user, context, channels, expiry. */
  private async fromHook(req: ConnectRequest, token: string | undefined): Promise<Identity> {
    const { url, timeout, failOpen } = this.config.connectHook;
    let answer: Record<string, unknown>;
    try {
      answer = await askHook(
        url,
        { headers: headersForHook(req.headers), query: Object.fromEntries(req.query), remote: req.remote, transport: req.transport, token },
        timeout,
        this.maxJsonDepth,
      );
    } catch (err) {
      const failure = err as HookFailure;
      this.stats.hookCall('connect', failure.outcome);
      this.log.warn({ event: 'hook.connect_failed', outcome: failure.outcome, err: failure.message }, 'connect hook failed');
      if (failOpen) return anonymousIdentity();
      throw new SwitchboardError('unavailable', 'the connect hook did not answer; try again');
    }
    if (answer.allow !== true) {
      this.stats.hookCall('connect', 'deny');
      throw denied(answer, 'connection');
    }
    this.stats.hookCall('connect', 'allow');
    const context = answer.context !== null && typeof answer.context === 'object' && !Array.isArray(answer.context) ? (answer.context as Record<string, unknown>) : {};
    const user = typeof answer.user === 'string' ? answer.user : '';
    const channels = Array.isArray(answer.channels) ? answer.channels.filter((c): c is string => typeof c === 'string') : [];
    const expiresIn = typeof answer.expiresIn === 'number' && answer.expiresIn > 0 ? answer.expiresIn : undefined;
    const identity: Identity = {
      user,
      context,
      privileged: answer.privileged === true || claimHolds(context[this.config.privilegedClaim], this.config.privilegedValue),
      channels,
      expiresAt: expiresIn === undefined ? undefined : Date.now() + expiresIn * 1000,
      issuedAt: Date.now(),
    };
    if (user && this.revocations.isRevoked({ user, issuedAt: 0 })) {
      this.stats.authFailure('revoked');
      throw new SwitchboardError('unauthorized', 'user has been revoked');
    }
    return identity;
  }
}
