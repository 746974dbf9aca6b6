import type { FastifyInstance } from 'fastify';
import type { SwitchboardNode } from '../node.js';

/** The client message routes and the state of their backends on this node. */
export function registerRoutingRoutes(api: FastifyInstance, node: SwitchboardNode): void {
  api.get('/api/routes', async () => ({
    node: node.id,
    routes: node.router.describe(),
    backends: [...node.router.endpoints.values()].map((e) => ({ name: e.name, breaker: e.breaker.state })),
  }));
}
