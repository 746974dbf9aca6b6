import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { apiKeyOf, type OtherCredentials } from '../auth/api-keys.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { NodeStats } from './console.js';
import type { ConsoleCredentials, ConsolePrincipal } from './credentials.js';
import type { GatewayOverview } from './gateway-overview.js';
import type { ApplicationOverview } from './topics-overview.js';

/** Methods that change nothing: all a read-only console role may call. */
const readMethods = new Set(['GET', 'HEAD']);

/**
 * Admits console credentials on the server API besides api.keys: read-only keys on reading calls
 * only (403 forbidden on anything that changes state), and JWTs carrying a console role.
 */
export function consoleApiAccess(credentials: ConsoleCredentials): OtherCredentials {
  return async (req, given) => {
    const principal = await credentials.identify(given);
    if (!principal) return false;
    if (principal.role === 'read-only' && !readMethods.has(req.method)) {
      throw new SwitchboardError(
        'forbidden',
        `the read-only console role sees everything and changes nothing: ${req.method} ${req.routeOptions.url ?? req.url} needs the admin role`,
      );
    }
    return true;
  };
}

export interface ConsoleRouteDeps {
  credentials: ConsoleCredentials;
  /** api.insecure: every call is admitted without a key. */
  insecure: boolean;
  historyMinutes: number;
  /** Every live node's samples of the last minutes. */
  nodeStats(minutes: number): Promise<NodeStats[]>;
  topics(): Promise<ApplicationOverview[]>;
  /** Undefined without gateway.enabled. */
  gateway: (() => GatewayOverview) | undefined;
}

/** GET /api/admin/...: the views only the console needs; behind the server API's key check. */
export const consoleRoutes: FastifyPluginAsync<ConsoleRouteDeps> = async (api, deps) => {
  const principalOf = async (req: FastifyRequest): Promise<ConsolePrincipal> => {
    const given = apiKeyOf(req);
    const principal = given === undefined ? undefined : await deps.credentials.identify(given);
    return principal ?? { role: 'admin', via: 'insecure' };
  };

  api.get('/api/admin/whoami', async (req) => principalOf(req));

  api.get('/api/admin/stats', async (req) => {
    const { minutes = String(deps.historyMinutes) } = req.query as { minutes?: string };
    const wanted = Number(minutes);
    if (!Number.isFinite(wanted) || wanted <= 0 || wanted > deps.historyMinutes) {
      throw new SwitchboardError('bad_request', `minutes must be a number above 0 and at most ${deps.historyMinutes} (admin.historyMinutes)`);
    }
    return { nodes: await deps.nodeStats(wanted) };
  });

  api.get('/api/admin/topics', async () => ({ applications: await deps.topics() }));

  api.get('/api/admin/gateway', async () => {
    if (!deps.gateway) throw new SwitchboardError('not_found', 'the gateway is off on this node (gateway.enabled)');
    return deps.gateway();
  });
};
