import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { SwitchboardError } from '../errors.js';

export type ApiScope = 'publish' | 'admin';

/** Routes a publish-scope key may call (method and route pattern); everything else needs admin. */
export const publishRoutes = new Set([
  'POST /api/publish',
  'POST /api/broadcast',
  'POST /messages',
  'POST /api/users/:id/messages',
  'POST /api/sessions/:id/messages',
  'POST /api/sessions/:id/replies',
  'GET /api/channels/:channel/history',
  'GET /api/channels/:channel/presence',
  'GET /api/channels/:channel/presence-stats',
]);

/**
 * An onRequest hook admitting requests that carry an admin key (api.keys) or, for publish routes,
 * a publish key (api.publishKeys). Keys are compared in constant time and never logged.
 */
export function apiKeyCheck(config: Config['api']): (req: FastifyRequest) => Promise<void> {
  // Keys are compared as SHA-256 digests: equal lengths, so neither a key's content nor its length
  // shows in the time a comparison takes; every key is compared every time.
  const digest = (key: string) => createHash('sha256').update(key).digest();
  const keys: [Buffer, ApiScope][] = [
    ...config.keys.map((k): [Buffer, ApiScope] => [digest(k), 'admin']),
    ...config.publishKeys.map((k): [Buffer, ApiScope] => [digest(k), 'publish']),
  ];
  const scopeOf = (given: string): ApiScope | undefined => {
    const buf = digest(given);
    let scope: ApiScope | undefined;
    for (const [key, keyScope] of keys) if (timingSafeEqual(key, buf) && scope !== 'admin') scope = keyScope;
    return scope;
  };
  return async (req) => {
    if (config.insecure) return;
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7) : req.headers['x-api-key'];
    const scope = typeof given === 'string' ? scopeOf(given) : undefined;
    if (!scope) throw new SwitchboardError('unauthorized', 'a valid API key is required (Authorization: Bearer KEY or X-API-Key: KEY)');
    if (scope === 'publish' && !publishRoutes.has(`${req.method} ${req.routeOptions.url}`)) {
      throw new SwitchboardError('forbidden', 'this API key has the publish scope only; this call needs an admin key');
    }
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
