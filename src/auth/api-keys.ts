import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { SwitchboardError } from '../protocol/errors.js';
import { isMapping } from '../config/values.js';

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
 * Keys and what each grants. Keys are compared as SHA-256 digests: equal lengths, so neither a
 * key's content nor its length shows in the time a comparison takes; every key is compared every time.
 */
export class KeyRing<T> {
  private readonly entries: [Buffer, T][];

  constructor(
    entries: [key: string, grant: T][],
    /** The grant that wins when one key is listed twice. */
    private readonly strongest: T,
  ) {
    this.entries = entries.map(([key, grant]) => [keyDigest(key), grant]);
  }

  find(given: string): T | undefined {
    const buf = keyDigest(given);
    let grant: T | undefined;
    for (const [key, keyGrant] of this.entries) if (timingSafeEqual(key, buf) && grant !== this.strongest) grant = keyGrant;
    return grant;
  }
}

function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** The key a server API request carries: Authorization: Bearer KEY or X-API-Key: KEY. */
export function apiKeyOf(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  const given = header?.startsWith('Bearer ') ? header.slice(7) : req.headers['x-api-key'];
  return typeof given === 'string' ? given : undefined;
}

/**
 * Admits what api.keys and api.publishKeys do not: answers true for a credential it accepts,
 * false for one it does not know, and throws for one it refuses (the admin console's sign-ins).
 */
export type OtherCredentials = (req: FastifyRequest, given: string) => Promise<boolean>;

/**
 * An onRequest hook admitting requests that carry an admin key (api.keys) or, for publish routes,
 * a publish key (api.publishKeys), or another credential `others` accepts. Keys are never logged.
 */
export function apiKeyCheck(config: Config['api'], others?: OtherCredentials): (req: FastifyRequest) => Promise<void> {
  const keys = new KeyRing<ApiScope>([...config.keys.map((k): [string, ApiScope] => [k, 'admin']), ...config.publishKeys.map((k): [string, ApiScope] => [k, 'publish'])], 'admin');
  return async (req) => {
    if (config.insecure) return;
    const given = apiKeyOf(req);
    const scope = given !== undefined ? keys.find(given) : undefined;
    if (!scope && given !== undefined && others && (await others(req, given))) return;
    if (!scope) throw new SwitchboardError('unauthorized', 'a valid API key is required (Authorization: Bearer KEY or X-API-Key: KEY)');
    if (scope === 'publish' && !publishRoutes.has(`${req.method} ${req.routeOptions.url}`)) {
      throw new SwitchboardError('forbidden', 'this API key has the publish scope only; this call needs an admin key');
    }
  };
}

/** The body of a dead-letter replay: `{}` (all) or `{"ids": [dead letter ids]}`; undefined means all. */
export function replayIdsOf(raw: unknown): string[] | undefined {
  const body = raw === undefined || raw === null ? {} : raw;
  if (!isMapping(body)) throw new SwitchboardError('bad_request', 'expected {} or {"ids": [dead letter ids]}');
  const { ids } = body;
  if (ids !== undefined && !(Array.isArray(ids) && ids.every((id) => typeof id === 'string'))) {
    throw new SwitchboardError('bad_request', 'ids must be a list of dead letter ids');
  }
  return ids as string[] | undefined;
}
