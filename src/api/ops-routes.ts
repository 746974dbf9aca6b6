import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config/schema.js';
import type { MachineView } from '../workers/ops-channel.js';
import type { MetricsSource } from '../observability/metrics-server.js';
import type { Metrics } from '../observability/metrics.js';

/** What the health, readiness and metrics routes need of the node. */
export interface OpsDeps {
  id: string;
  config: Pick<Config, 'metrics'>;
  metrics: Pick<Metrics, 'registry'>;
  machine: MachineView | undefined;
  readonly isReady: boolean;
  readonly isDraining: boolean;
}

/** Health, readiness and Prometheus metrics: open without an API key so probes and scrapers can reach them. */
export const opsRoutes: FastifyPluginAsync<OpsDeps> = async (app, node) => {
  const { metrics, machine } = node;

  app.get('/healthz', async () => ({ status: 'ok', node: node.id }));

  app.get('/readyz', async (_req, reply) => {
    if (node.isReady && machine) {
      // Any worker may take the probe: it answers for all of them (not ready when the primary cannot say).
      const { ready, workers } = await machine.readiness().catch(() => ({ ready: false, workers: [] }));
      if (!ready) reply.code(503);
      return { status: ready ? 'ready' : 'not_ready', node: node.id, workers };
    }
    if (node.isReady) return { status: 'ready', node: node.id };
    reply.code(503);
    return { status: node.isDraining ? 'draining' : 'not_ready', node: node.id };
  });

  // With metrics.port set, /metrics is served only there (see metricsSource).
  if (node.config.metrics.port !== 0) return;
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metricsSource(node).render();
  });
};

/** This node's metrics, or with workers every worker's. */
export function metricsSource(node: Pick<OpsDeps, 'metrics' | 'machine'>): MetricsSource {
  const { metrics, machine } = node;
  return { contentType: metrics.registry.contentType, render: () => (machine ? machine.metrics() : metrics.registry.metrics()) };
}
