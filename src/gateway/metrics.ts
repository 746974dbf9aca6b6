import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Stats } from '../observability/metrics.js';

/** The gateway's Prometheus metrics, on the node's registry. */
export class GatewayMetrics {
  readonly requests: Counter<'route' | 'service' | 'instance' | 'status'>;
  readonly duration: Histogram<'route'>;
  readonly upstreamErrors: Counter<'route' | 'service' | 'instance' | 'reason'>;
  readonly retries: Counter<'route' | 'service'>;
  readonly ejections: Counter<'service' | 'instance'>;
  readonly refused: Counter<'route' | 'reason'>;
  readonly registrations: Counter<'outcome'>;
  readonly events: Counter<'type'>;
  readonly healthChecks: Counter<'service' | 'instance' | 'result'>;

  constructor(
    registry: Registry,
    readonly stats: Stats,
    instanceStates: () => [service: string, state: string, count: number][],
  ) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'switchboard_gateway_requests_total',
      help: 'Proxied requests answered by an upstream instance, by route, service, instance and status class (2xx, 3xx, 4xx, 5xx, 101)',
      labelNames: ['route', 'service', 'instance', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'switchboard_gateway_request_duration_seconds',
      help: 'Time from a proxied request to the upstream response headers (or the error answered instead), by route',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'switchboard_gateway_upstream_errors_total',
      help: 'Failed attempts at an upstream instance, by reason: connect, timeout, reset, status_5xx, too_large, grpc_unavailable, grpc_deadline, grpc_error, forbidden_target, bad_response',
      labelNames: ['route', 'service', 'instance', 'reason'],
      registers,
    });
    this.retries = new Counter({
      name: 'switchboard_gateway_retries_total',
      help: 'Requests tried again on another instance after a connect error',
      labelNames: ['route', 'service'],
      registers,
    });
    this.ejections = new Counter({
      name: 'switchboard_gateway_ejections_total',
      help: 'Instances taken out of rotation after consecutive failed requests, on this node',
      labelNames: ['service', 'instance'],
      registers,
    });
    this.refused = new Counter({
      name: 'switchboard_gateway_refused_total',
      help: 'Proxied requests answered by the gateway itself, by route and reason: unauthorized, forbidden, rate_limited, too_large, no_instance, bad_gateway, timeout',
      labelNames: ['route', 'reason'],
      registers,
    });
    this.registrations = new Counter({
      name: 'switchboard_gateway_registrations_total',
      help: 'Registry API calls on this node, by outcome: created, existed, heartbeat, deregistered, rate_limited, limit_exceeded',
      labelNames: ['outcome'],
      registers,
    });
    this.events = new Counter({ name: 'switchboard_gateway_registry_events_total', help: 'Registry changes seen by this node, by type', labelNames: ['type'], registers });
    this.healthChecks = new Counter({
      name: 'switchboard_gateway_health_checks_total',
      help: 'Active health checks run by this node, by service, instance and result (pass, fail)',
      labelNames: ['service', 'instance', 'result'],
      registers,
    });
    new Gauge({
      name: 'switchboard_gateway_instances',
      help: 'Instances as this node sees them, by service and state: available, ejected, unhealthy',
      labelNames: ['service', 'state'],
      registers,
      collect(this: Gauge) {
        this.reset();
        for (const [service, state, count] of instanceStates()) this.set({ service, state }, count);
      },
    });
  }
}
