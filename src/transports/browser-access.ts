import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { OriginPolicy, clientOriginPolicy, type OriginVerdict } from '../auth/origins.js';
import type { Config } from '../config/schema.js';
import { SwitchboardError } from '../protocol/errors.js';

/** The origin policies of a node: one for client endpoints (server.allowedOrigins), one for the server API (api.allowedOrigins). */
export interface OriginPolicies {
  client: OriginPolicy;
  api: OriginPolicy;
}

interface Area {
  policy: OriginPolicy;
  methods: string[];
  /** Request headers a page may send (lower case); names ending in `*` are prefixes. */
  headers: string[];
}

/** Headers the client SDK sends, and any X-Switchboard-* header of the protocol. */
const clientHeaders = ['authorization', 'content-type', 'accept', 'cache-control', 'last-event-id', 'x-switchboard-*'];
const apiHeaders = ['authorization', 'content-type', 'x-api-key'];
/** How long a browser may cache a preflight answer, in seconds. */
const preflightMaxAge = '600';

function headerAllowed(name: string, allowed: string[]): boolean {
  return allowed.some((a) => (a.endsWith('*') ? name.startsWith(a.slice(0, -1)) : name === a));
}

/** The CORS answer headers for an allowed cross-origin request, set on the raw response so hijacked streams carry them too. */
function allowOrigin(res: ServerResponse, verdict: OriginVerdict, origin: string | undefined): void {
  if (verdict === 'listed' && origin) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-credentials', 'true');
  } else if (verdict === 'any') {
    // A wildcard answer never allows credentials: browsers then send no cookies.
    res.setHeader('access-control-allow-origin', '*');
  }
}

/**
 * Origin checks and CORS for every browser-facing HTTP endpoint: a request from an origin the
 * policy refuses is answered 403 `forbidden` before any handler runs; allowed cross-origin
 * requests get their CORS headers; preflights (OPTIONS) are answered for the methods and headers
 * each endpoint takes. Requests without an Origin header pass untouched.
 */
export function registerBrowserAccess(app: FastifyInstance, config: Config): OriginPolicies {
  const policies: OriginPolicies = {
    client: clientOriginPolicy(config.server),
    api: new OriginPolicy(config.api.allowedOrigins, config.server.tls.cert !== ''),
  };
  const streams: Area = { policy: policies.client, methods: ['GET'], headers: clientHeaders };
  const frames: Area = { policy: policies.client, methods: ['POST'], headers: clientHeaders };
  const api: Area = { policy: policies.api, methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], headers: apiHeaders };
  const areas = new Map<string, Area>([
    ['/sse', streams],
    ['/sse/messages', streams],
    ['/stream', streams],
    ['/poll', streams],
    ['/client/:file', streams],
    ['/protocol/:file', streams],
    ['/frames', frames],
    ['/api/*', api],
    ['/messages', api],
  ]);
  if (config.graphql.enabled) areas.set('/graphql', { policy: policies.client, methods: ['GET', 'POST'], headers: clientHeaders });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const area = areas.get(req.routeOptions.url ?? '') ?? (req.url.startsWith('/api/') ? api : undefined);
    if (!area) return;
    // Answers differ by Origin: a cache must not hand one origin's answer to another.
    reply.raw.setHeader('vary', 'Origin');
    const verdict = area.policy.check(req.headers);
    if (verdict !== 'none') allowOrigin(reply.raw, verdict, req.headers.origin);
  });

  for (const [path, area] of areas) {
    app.options(path, async (req, reply) => {
      const method = req.headers['access-control-request-method'];
      if (method !== undefined && !area.methods.includes(method)) {
        throw new SwitchboardError('forbidden', `method ${method.slice(0, 20)} is not allowed here; this endpoint takes ${area.methods.join(', ')}`);
      }
      const asked = String(req.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== '');
      const refused = asked.find((h) => !headerAllowed(h, area.headers));
      if (refused !== undefined) throw new SwitchboardError('forbidden', `request header ${refused.slice(0, 60)} is not allowed here`);
      reply.header('access-control-allow-methods', area.methods.join(', '));
      if (asked.length > 0) reply.header('access-control-allow-headers', asked.join(', '));
      reply.header('access-control-max-age', preflightMaxAge);
      reply.code(204).send();
    });
  }
  return policies;
}
