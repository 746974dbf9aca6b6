import type { Balancer } from './balancer.js';
import { NoInstance } from './failures.js';
import type { GatewayMetrics } from './metrics.js';
import { UpstreamError } from './upstream-error.js';
import type { Upstream, Upstreams } from './upstreams.js';

/** Methods that may be sent again: retried on another instance after a connect error. */
export const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

function statusClass(status: number): string {
  return status === 101 ? '101' : `${Math.floor(status / 100)}xx`;
}

/** Runs requests on the instances of a service: picks, retries, and counts what each instance answered towards its ejection. */
export class InstanceAttempts {
  constructor(
    private readonly upstreams: Upstreams,
    private readonly metrics: GatewayMetrics,
  ) {}

  /**
   * Runs `run` on an instance chosen by the balancer. A failure before the request was sent
   * (connect error, gRPC UNAVAILABLE) is tried again on another instance when `retriable`. Every
   * failure counts towards the instance's ejection. When no instance is left the service is
   * marked down on every node and NoInstance is thrown.
   */
  async run<T>(
    service: string,
    route: string,
    balancer: Balancer,
    hashKey: string | undefined,
    retriable: boolean,
    retries: number,
    run: (up: Upstream) => Promise<T>,
  ): Promise<T> {
    const tried = new Set<Upstream>();
    for (;;) {
      const all = this.upstreams.of(service);
      const now = Date.now();
      const up = balancer.pick(
        all.filter((u) => u.available(now) && !tried.has(u)),
        all,
        hashKey,
      );
      if (!up) throw this.noInstance(service, all);
      tried.add(up);
      up.outstanding += 1;
      try {
        return await run(up);
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        this.metrics.upstreamErrors.inc({ route, service, instance: up.instance.id, reason: err.reason });
        this.upstreams.failed(up);
        if (!err.beforeSending) throw err;
        const left = this.upstreams.of(service).filter((u) => u.available(Date.now()) && !tried.has(u));
        if (left.length === 0 && !this.upstreams.of(service).some((u) => u.available(Date.now()))) throw this.noInstance(service, all);
        if (!retriable || tried.size > retries || left.length === 0) throw err;
        this.metrics.retries.inc({ route, service });
      } finally {
        up.outstanding -= 1;
      }
    }
  }

  private noInstance(service: string, all: Upstream[]): NoInstance {
    if (all.length > 0) this.upstreams.noneLeft(service);
    return new NoInstance(service, this.upstreams.retryAfter(service));
  }

  /** An instance answered: 5xx counts towards its ejection, anything else clears its failures. */
  settle(up: Upstream, route: string, status: number): void {
    this.metrics.requests.inc({ route, service: up.instance.service, instance: up.instance.id, status: statusClass(status) });
    if (status >= 500) {
      this.metrics.upstreamErrors.inc({ route, service: up.instance.service, instance: up.instance.id, reason: 'status_5xx' });
      this.upstreams.failed(up);
    } else {
      this.upstreams.succeeded(up);
    }
  }
}
