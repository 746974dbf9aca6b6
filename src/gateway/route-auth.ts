import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Authenticator } from '../auth/authenticator.js';
import type { OriginPolicy } from '../auth/origins.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { GatewayRoute } from '../config/gateway.js';
import { cookieValue } from './headers.js';

/** Who called a route with authentication, as passed to the service. */
export interface RouteIdentity {
  user: string;
  claims: Record<string, unknown>;
}

const digest = (key: string) => createHash('sha256').update(key).digest();

/**
 * A route's authentication: none; an API key (the route's own keys, or the node's admin keys) in
 * `Authorization: Bearer` or `X-API-Key`, compared in constant time and not passed on; or a JWT
 * (`Authorization: Bearer` or the token cookie) verified by the node's authenticator, revocations
 * included, whose chosen claims become request headers. The cookie counts only on requests without
 * an Origin or from an origin the client endpoints allow (server.allowedOrigins).
 */
export class RouteAuth {
  private readonly keys: Buffer[];

  constructor(
    private readonly route: GatewayRoute,
    nodeKeys: string[],
    private readonly authenticator: Authenticator,
    private readonly tokenCookie: string,
    private readonly cookieOrigins: OriginPolicy,
  ) {
    this.keys = (route.apiKeys.length > 0 ? route.apiKeys : nodeKeys).map(digest);
  }

  /** Resolves with the caller on jwt routes, undefined on others; throws `unauthorized`. Removes the credentials that must not reach the service. */
  async check(headers: IncomingHttpHeaders): Promise<RouteIdentity | undefined> {
    const bearer = headers.authorization?.startsWith('Bearer ') ? headers.authorization.slice(7) : undefined;
    switch (this.route.auth) {
      case 'none':
        return undefined;
      case 'api_key': {
        const given = bearer ?? headers['x-api-key'];
        if (typeof given !== 'string' || !this.validKey(given))
          throw new SwitchboardError('unauthorized', 'this route needs an API key (Authorization: Bearer KEY or X-API-Key: KEY)');
        delete headers['x-api-key'];
        if (bearer !== undefined) delete headers.authorization;
        return undefined;
      }
      case 'jwt': {
        const cookie = bearer === undefined ? cookieValue(headers.cookie, this.tokenCookie) : undefined;
        // A page of any site can make the browser send the cookie (a WebSocket handshake, a form post): only the origins of the client endpoints may ride on it.
        if (cookie !== undefined) this.cookieOrigins.check(headers);
        const token = bearer ?? cookie;
        if (!token) throw new SwitchboardError('unauthorized', 'this route needs a token (Authorization: Bearer TOKEN)');
        const verified = await this.authenticator.verify(token);
        return { user: verified.user, claims: verified.claims as Record<string, unknown> };
      }
    }
  }

  /** The claim headers to set, each as a string (non-strings as JSON). */
  claimHeaders(identity: RouteIdentity | undefined): [string, string][] {
    if (!identity) return [];
    const out: [string, string][] = [];
    for (const [claim, header] of this.route.claimHeaders) {
      const value = identity.claims[claim];
      if (value === undefined) continue;
      out.push([header, typeof value === 'string' ? value : JSON.stringify(value)]);
    }
    return out;
  }

  private validKey(given: string): boolean {
    const buf = digest(given);
    let ok = false;
    for (const key of this.keys) if (timingSafeEqual(key, buf)) ok = true;
    return ok;
  }
}
