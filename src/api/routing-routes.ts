import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SwitchboardError } from '../errors.js';
import type { SwitchboardNode } from '../node.js';
import { replayIdsOf } from './api-keys.js';
import type { BreakerState } from '../routing/breaker.js';

/** A backend's health as its breaker tells it: calls go through, a probe is out, or calls are refused until it recovers. */
function healthOf(breaker: BreakerState): 'healthy' | 'recovering' | 'failing' {
  return breaker === 'closed' ? 'healthy' : breaker === 'half_open' ? 'recovering' : 'failing';
}

/** The client message routes, their backends' breakers, and the dead letters of durable routes. */
export function registerRoutingRoutes(api: FastifyInstance, node: SwitchboardNode): void {
  const routeName = (req: FastifyRequest) => (req.params as { name: string }).name;

  api.get('/api/routes', async () => {
    const queues = await node.durable.queueStats();
    return {
      node: node.id,
      routes: node.router.describe().map((route) => ({ ...route, ...(queues.get(route.name) && { queue: queues.get(route.name) }) })),
      backends: [...node.router.endpoints.values()].map((e) => ({ name: e.name, breaker: e.breaker.state, health: healthOf(e.breaker.state) })),
    };
  });

  api.get('/api/routes/:name/dead-letters', async (req) => {
    const { limit = '100', from } = req.query as { limit?: string; from?: string };
    const max = Number(limit);
    if (!Number.isInteger(max) || max < 1 || max > 1000) throw new SwitchboardError('bad_request', 'limit must be an integer from 1 to 1000');
    return { route: routeName(req), deadLetters: await node.durable.deadLetters(routeName(req), max, from) };
  });

  api.post('/api/routes/:name/dead-letters/replay', async (req) => {
    return { route: routeName(req), ...(await node.durable.replay(routeName(req), replayIdsOf(req.body))) };
  });
}
