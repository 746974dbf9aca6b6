import type { Counter } from 'prom-client';
import type { GatewayRoute } from '../config/gateway.js';
import type { ServiceRegistry } from '../gateway/registry.js';
import type { Upstreams } from '../gateway/upstreams.js';
import type { RateWindow } from './rates.js';

export interface InstanceOverview {
  id: string;
  url: string;
  state: 'healthy' | 'ejected' | 'unhealthy' | 'unknown';
  /** Why it takes no requests; null while healthy. */
  reason: string | null;
  outstanding: number;
  ejectedUntil: number | null;
}

export interface GatewayOverview {
  services: { name: string; down: { since: number; until: number } | null; instances: InstanceOverview[] }[];
  routes: { name: string; service: string; host: string; path: string; methods: string[]; requestsPerSecond: number; errorsPerSecond: number }[];
}

/** What the overview reads of the gateway: its registry, this node's view of the instances, its routes and counters. */
export interface GatewaySource {
  registry: Pick<ServiceRegistry, 'list'>;
  upstreams: Pick<Upstreams, 'of'>;
  routes: GatewayRoute[];
  metrics: { requests: Counter<string>; upstreamErrors: Counter<string> };
}

/** Totals of a counter by its `route` label. */
async function byRoute(counter: Counter<string>): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  for (const { labels, value } of (await counter.get()).values) {
    const route = String(labels.route ?? '');
    totals.set(route, (totals.get(route) ?? 0) + value);
  }
  return totals;
}

/** Records the gateway's request and error totals by route, for the rates of the overview. */
export async function recordGatewayTotals(gateway: GatewaySource, requests: RateWindow, errors: RateWindow): Promise<void> {
  const [r, e] = await Promise.all([byRoute(gateway.metrics.requests), byRoute(gateway.metrics.upstreamErrors)]);
  requests.record(r);
  errors.record(e);
}

function instanceOverview(gateway: GatewaySource, service: string, instance: { id: string; url: string }, now: number): InstanceOverview {
  const up = gateway.upstreams.of(service).find((u) => u.instance.id === instance.id);
  const base = { id: instance.id, url: instance.url, outstanding: up?.outstanding ?? 0, ejectedUntil: null };
  if (!up) return { ...base, state: 'unknown', reason: 'this node does not use it yet' };
  if (!up.healthy) return { ...base, state: 'unhealthy', reason: 'failed its active health checks' };
  if (up.ejectedUntil > now) return { ...base, state: 'ejected', reason: 'ejected after consecutive failures (5xx answers or connection errors)', ejectedUntil: up.ejectedUntil };
  return { ...base, state: 'healthy', reason: null };
}

/** Services with their instances as this node sees them, and routes with their rates over the last minute. */
export function gatewayOverview(gateway: GatewaySource, requests: RateWindow, errors: RateWindow): GatewayOverview {
  const now = Date.now();
  return {
    services: gateway.registry.list().map((view) => ({
      name: view.name,
      down: view.down && { since: view.down.since, until: view.down.until },
      instances: view.instances.map((i) => instanceOverview(gateway, view.name, i, now)),
    })),
    routes: gateway.routes.map((r) => ({
      name: r.name,
      service: r.service,
      host: r.host,
      path: r.path,
      methods: r.methods,
      requestsPerSecond: requests.rate(r.name),
      errorsPerSecond: errors.rate(r.name),
    })),
  };
}
