import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { SwitchboardError } from '../protocol/errors.js';
import type { DurableDelivery } from '../routing/durable.js';
import type { Router } from '../routing/router.js';
import { replayIdsOf } from '../auth/api-keys.js';
import type { BreakerState } from '../routing/breaker.js';

/** A backend's health as its breaker tells it: calls go through, a probe is out, or calls are refused until it recovers. */
function healthOf(breaker: BreakerState): 'healthy' | 'recovering' | 'failing' {
  return breaker === 'closed' ? 'healthy' : breaker === 'half_open' ? 'recovering' : 'failing';
}

/** What the routing routes need: the router and the durable queues. */
export interface RoutingDeps {
  id: string;
  router: Pick<Router, 'describe' | 'endpoints'>;
  durable: Pick<DurableDelivery, 'queueStats' | 'deadLetters' | 'replay'>;
}

/** The client message routes, their backends' breakers, and the dead letters of durable routes. */
export const routingRoutes: FastifyPluginAsync<RoutingDeps> = async (api, deps) => {
  const routeName = (req: FastifyRequest) => (req.params as { name: string }).name;

  api.get('/api/routes', async () => {
    const queues = await deps.durable.queueStats();
    return {
      node: deps.id,
      routes: deps.router.describe().map((route) => ({ ...route, ...(queues.get(route.name) && { queue: queues.get(route.name) }) })),
      backends: [...deps.router.endpoints.values()].map((e) => ({ name: e.name, breaker: e.breaker.state, health: healthOf(e.breaker.state) })),
    };
  });

  api.get('/api/routes/:name/dead-letters', async (req) => {
    const { limit = '100', from } = req.query as { limit?: string; from?: string };
    const max = Number(limit);
    if (!Number.isInteger(max) || max < 1 || max > 1000) throw new SwitchboardError('bad_request', 'limit must be an integer from 1 to 1000');
    return { route: routeName(req), deadLetters: await deps.durable.deadLetters(routeName(req), max, from) };
  });

  api.post('/api/routes/:name/dead-letters/replay', async (req) => {
    return { route: routeName(req), ...(await deps.durable.replay(routeName(req), replayIdsOf(req.body))) };
  });
};
