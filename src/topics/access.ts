import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/schema.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { Applications, Principal } from './applications.js';
import type { KeyScope } from '../config/topics.js';

/** The key a request carries: `Authorization: Bearer KEY` or `X-API-Key: KEY` (or `?key=` for WebSocket clients). */
export function keyOf(headers: IncomingHttpHeaders, query?: URLSearchParams): string | undefined {
  const header = headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7);
  const given = headers['x-api-key'];
  if (typeof given === 'string') return given;
  return query?.get('key') ?? undefined;
}

/**
 * Resolves who calls: a server admin key (api.keys) or api.insecure is the server (every right);
 * an application key is its application with its scopes. Throws unauthorized otherwise.
 */
export function principalResolver(config: Config['api'], applications: Applications): (key: string | undefined) => Promise<Principal> {
  const digest = (key: string) => createHash('sha256').update(key).digest();
  const adminKeys = config.keys.map(digest);
  return async (key) => {
    if (config.insecure) return { kind: 'server' };
    if (key === undefined) throw new SwitchboardError('unauthorized', 'a key is required (Authorization: Bearer KEY or X-API-Key: KEY)');
    const given = digest(key);
    let server = false;
    for (const admin of adminKeys) if (timingSafeEqual(admin, given)) server = true;
    if (server) return { kind: 'server' };
    const principal = await applications.authenticate(key);
    if (!principal) throw new SwitchboardError('unauthorized', 'unknown or revoked key');
    return principal;
  };
}

/** Throws forbidden unless the principal may act on `application` with one of `scopes`. */
export function authorize(principal: Principal, application: string, scopes: KeyScope[]): void {
  if (principal.kind === 'server') return;
  if (principal.application !== application) throw new SwitchboardError('forbidden', `this key belongs to application ${principal.application}, not ${application}`);
  if (!scopes.some((s) => principal.scopes.includes(s))) throw new SwitchboardError('forbidden', `this call needs a key with the ${scopes.join(' or ')} scope`);
}
