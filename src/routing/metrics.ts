import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BreakerState } from './breaker.js';

/** How a backend call ended, as counted in switchboard_backend_calls_total. */
export type CallOutcome = 'ok' | 'later' | 'client_error' | 'server_error' | 'redirect' | 'timeout' | 'unreachable' | 'too_large' | 'bad_body' | 'breaker_open';

const breakerValue: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** Prometheus metrics of client message routing, per route and per backend. */
export class RoutingMetrics {
  private readonly routed: Counter<'route' | 'outcome'>;
  private readonly calls: Counter<'backend' | 'outcome'>;
  private readonly duration: Histogram<'backend'>;
  private readonly retries: Counter<'route'>;
  private readonly deadLetters: Counter<'route'>;
  private readonly breaker: Gauge<'backend'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.routed = new Counter({
      name: 'switchboard_routed_messages_total',
      help: 'Client send/rpc messages by route (- for none) and outcome: ok, accepted (durable), later (answered through the API), unmatched, unknown_destination, error',
      labelNames: ['route', 'outcome'],
      registers,
    });
    this.calls = new Counter({
      name: 'switchboard_backend_calls_total',
      help: 'Calls to routing backends and rules services, by backend and outcome',
      labelNames: ['backend', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'switchboard_backend_call_duration_seconds',
      help: 'Time from sending a routed message to a backend to having its answer',
      labelNames: ['backend'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.retries = new Counter({
      name: 'switchboard_durable_retries_total',
      help: 'Durable deliveries tried again after a failed attempt, by route',
      labelNames: ['route'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'switchboard_durable_dead_letters_total',
      help: "Durable messages moved to their route's dead letters after the last attempt, by route",
      labelNames: ['route'],
      registers,
    });
    this.breaker = new Gauge({ name: 'switchboard_backend_breaker_state', help: 'Circuit breaker per backend: 0 closed, 1 half-open, 2 open', labelNames: ['backend'], registers });
  }

  routedMessage(route: string, outcome: string): void {
    this.routed.inc({ route, outcome });
  }

  call(backend: string, outcome: CallOutcome, seconds?: number): void {
    this.calls.inc({ backend, outcome });
    if (seconds !== undefined) this.duration.observe({ backend }, seconds);
  }

  retry(route: string): void {
    this.retries.inc({ route });
  }

  deadLetter(route: string): void {
    this.deadLetters.inc({ route });
  }

  breakerState(backend: string, state: BreakerState): void {
    this.breaker.set({ backend }, breakerValue[state]);
  }
}
