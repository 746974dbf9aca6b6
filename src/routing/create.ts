import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { TopicStore } from '../topics/store.js';
import { DurableDelivery, longestCall } from './durable.js';
import { RoutingMetrics } from './metrics.js';
import { Router, type RouterDeps } from './router.js';

/** The router of client messages and the durable delivery of its durable routes, on the topic store. */
export function createRouting(
  config: Config,
  deps: Omit<RouterDeps, 'metrics' | 'maxJsonDepth'>,
  store: TopicStore,
  registry: Registry,
  log: Logger,
): { router: Router; durable: DurableDelivery } {
  const metrics = new RoutingMetrics(registry);
  const router = new Router(config.routing, { ...deps, metrics, maxJsonDepth: config.limits.maxJsonDepth });
  const durable = new DurableDelivery(
    store,
    router,
    { ...config.routing.retry, callTimeout: longestCall(config.routing), retention: { ms: config.topics.retention, bytes: config.topics.retentionBytes } },
    metrics,
    log,
  );
  router.useDurable(durable);
  return { router, durable };
}
