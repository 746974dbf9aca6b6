import type { FastifyPluginAsync } from 'fastify';
import { SwitchboardError } from '../protocol/errors.js';
import type { Gateway } from './gateway.js';
import type { ServiceInstance } from './instances.js';
import type { RegistryEvent, ServiceView } from './registry.js';

/** An instance in an API answer, with this node's view of it: available, ejected (until when) or unhealthy, and requests in flight. */
function describe(gateway: Gateway, instance: ServiceInstance): ServiceInstance & { state: string; outstanding: number; ejectedUntil: number | null } {
  const up = gateway.upstreams.of(instance.service).find((u) => u.instance.id === instance.id);
  const now = Date.now();
  const state = !up ? 'unknown' : !up.healthy ? 'unhealthy' : up.ejectedUntil > now ? 'ejected' : 'available';
  return { ...instance, state, outstanding: up?.outstanding ?? 0, ejectedUntil: state === 'ejected' ? up!.ejectedUntil : null };
}

function present(gateway: Gateway, view: ServiceView): object {
  return { name: view.name, down: view.down, instances: view.instances.map((i) => describe(gateway, i)) };
}

/** The registry API under /api/services (docs/gateway.md); behind the API key check of the server API. */
export const serviceRoutes: FastifyPluginAsync<{ gateway: Gateway }> = async (api, { gateway }) => {
  const { registry } = gateway;

  api.get('/api/services', async () => ({ services: registry.list().map((view) => present(gateway, view)) }));

  api.get('/api/services/events', async (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.write(`${JSON.stringify({ type: 'snapshot', services: registry.list(), time: Date.now() })}\n`);
    const unsubscribe = registry.onEvent((event: RegistryEvent) => res.write(`${JSON.stringify(event)}\n`));
    req.raw.socket.once('close', unsubscribe);
    res.once('close', unsubscribe);
  });

  api.get<{ Params: { name: string } }>('/api/services/:name', async (req) => {
    const view = registry.view(req.params.name);
    if (!view) throw new SwitchboardError('not_found', `no service ${req.params.name}`);
    return present(gateway, view);
  });

  api.post<{ Params: { name: string } }>('/api/services/:name/instances', async (req, reply) => {
    const { instance, created } = await registry.register(req.params.name, req.body);
    reply.code(created ? 201 : 200);
    return { created, instance };
  });

  api.put<{ Params: { name: string; id: string } }>('/api/services/:name/instances/:id/heartbeat', async (req) => ({
    instance: await registry.heartbeat(req.params.name, req.params.id),
  }));

  api.delete<{ Params: { name: string; id: string } }>('/api/services/:name/instances/:id', async (req) => {
    await registry.deregister(req.params.name, req.params.id);
    return { removed: true };
  });
};
