import type { SwitchboardNode } from '../node.js';

/** Health, readiness and Prometheus metrics: open without an API key so probes and scrapers can reach them. */
export function registerOpsRoutes(node: SwitchboardNode): void {
  const { app, metrics } = node;

  app.get('/healthz', async () => ({ status: 'ok', node: node.id }));

  app.get('/readyz', async (_req, reply) => {
    if (node.isReady) return { status: 'ready', node: node.id };
    reply.code(503);
    return { status: node.isDraining ? 'draining' : 'not_ready', node: node.id };
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
