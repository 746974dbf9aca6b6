import type { Client as GrpcClient } from '@grpc/grpc-js';
import { Agent, Pool, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { backoffDelay } from '../backends/backoff.js';
import type { Config } from '../config/schema.js';
import { createForwardingClient } from './grpc.js';
import { checkInstance } from './health.js';
import { instanceKey, type ServiceInstance } from './instances.js';
import type { GatewayMetrics } from './metrics.js';
import type { RegistryEvent, ServiceRegistry } from './registry.js';
import type { TargetPolicy } from '../outbound/targets.js';

/** One instance as this node uses it: connections, requests in flight, failures, ejection and health. */
export class Upstream {
  readonly key: string;
  outstanding = 0;
  consecutiveFailures = 0;
  /** Ejections in a row without a success in between; each lasts twice as long as the one before. */
  ejections = 0;
  ejectedUntil = 0;
  healthy = true;
  checkStreak = 0;
  checkTimer: NodeJS.Timeout | undefined;
  readonly pool: Pool | undefined;
  readonly grpc: GrpcClient | undefined;
  /** The instance URL's path, prefixed to every proxied path. */
  readonly basePath: string;
  /** host:port, the Host header the instance gets. */
  readonly host: string;
  /** For an instance registered through the API: what keeps its connections off internal addresses. */
  readonly targets: TargetPolicy | undefined;
  /** What active HTTP checks are sent through: the global dispatcher, or a guarded one for a registered instance. */
  readonly checkDispatcher: Dispatcher | undefined;

  constructor(
    public instance: ServiceInstance,
    config: Config['gateway'],
    targets: TargetPolicy,
  ) {
    this.key = instanceKey(instance.service, instance.id);
    const url = new URL(instance.url);
    this.basePath = instance.protocol === 'http' ? url.pathname.replace(/\/$/, '') : '';
    this.host = url.host;
    this.targets = instance.source === 'api' ? targets : undefined;
    const connect = this.targets?.connector('gateway', { timeout: config.upstream.connectTimeout });
    if (connect && instance.check.type === 'http') this.checkDispatcher = new Agent({ connect });
    if (instance.protocol === 'http') {
      this.pool = new Pool(url.origin, {
        ...(connect && { connect }),
        connections: config.upstream.connections,
        connectTimeout: config.upstream.connectTimeout,
        keepAliveTimeout: config.upstream.keepAliveTimeout,
        keepAliveMaxTimeout: config.upstream.keepAliveTimeout,
        // Undici's own check of response header size; the gateway's limit is on requests.
        maxHeaderSize: 64 * 1024,
      });
    } else {
      this.grpc = createForwardingClient(instance.url, config.grpc.maxMessageBytes);
    }
  }

  available(now: number): boolean {
    return this.healthy && this.ejectedUntil <= now;
  }

  close(): void {
    clearTimeout(this.checkTimer);
    this.pool?.destroy().catch(() => {});
    this.checkDispatcher?.destroy().catch(() => {});
    this.grpc?.close();
  }
}

/**
 * The upstreams of every service, kept in step with the registry; passive ejection (consecutive
 * failures take an instance out for a growing time), active health checks, and the shared down
 * mark: when a service has no instance left every node learns it, and ejects its instances until
 * the mark's time; the first success, passing check or new registration anywhere clears it.
 */
export class Upstreams {
  private readonly byService = new Map<string, Map<string, Upstream>>();
  private stopped = false;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly config: Config['gateway'],
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    private readonly targets: TargetPolicy,
  ) {
    registry.onEvent((event) => this.follow(event));
  }

  /** Takes the instances the registry holds at start (configured services). */
  start(): void {
    for (const view of this.registry.list()) for (const inst of view.instances) this.add(inst);
  }

  stop(): void {
    this.stopped = true;
    for (const map of this.byService.values()) for (const up of map.values()) up.close();
    this.byService.clear();
  }

  /** Every live instance of a service. */
  of(service: string): Upstream[] {
    const map = this.byService.get(service);
    if (!map) return [];
    const now = Date.now();
    const out: Upstream[] = [];
    for (const up of map.values()) if (up.instance.expiresAt === 0 || up.instance.expiresAt > now) out.push(up);
    return out;
  }

  /** Seconds a client should wait before trying a service again: until its first instance comes back. */
  retryAfter(service: string): number {
    const now = Date.now();
    let until = Infinity;
    for (const up of this.of(service)) if (up.ejectedUntil > now) until = Math.min(until, up.ejectedUntil);
    const mark = this.registry.downMark(service);
    if (until === Infinity && mark && mark.until > now) until = mark.until;
    const ms = until === Infinity ? this.config.ejection.baseTime : until - now;
    return Math.max(1, Math.ceil(ms / 1000));
  }

  /** No instance could take a request: the service is marked down on every node. */
  noneLeft(service: string): void {
    const mark = this.registry.downMark(service);
    const now = Date.now();
    if (mark && mark.until > now) return;
    const until = now + this.retryAfter(service) * 1000;
    this.registry.markDown(service, until).catch((err) => this.log.warn({ event: 'gateway.mark_down_failed', service, err: (err as Error).message }, 'down mark not shared'));
  }

  succeeded(up: Upstream): void {
    up.consecutiveFailures = 0;
    up.ejections = 0;
    if (this.registry.downMark(up.instance.service)) this.markUp(up.instance.service);
  }

  failed(up: Upstream): void {
    up.consecutiveFailures += 1;
    if (up.consecutiveFailures < this.config.ejection.consecutiveFailures) return;
    up.consecutiveFailures = 0;
    up.ejections += 1;
    const { baseTime, maxTime } = this.config.ejection;
    const duration = backoffDelay({ initial: baseTime, max: maxTime, jitter: 'none' }, up.ejections);
    up.ejectedUntil = Date.now() + duration;
    this.metrics.ejections.inc({ service: up.instance.service, instance: up.instance.id });
    this.log.warn({ event: 'gateway.ejected', service: up.instance.service, id: up.instance.id, ms: duration }, 'instance ejected after consecutive failures');
  }

  /** Counts of instances by service and state, for the gauge. */
  states(): [string, string, number][] {
    const now = Date.now();
    const out: [string, string, number][] = [];
    for (const [service, map] of this.byService) {
      const counts = { available: 0, ejected: 0, unhealthy: 0 };
      for (const up of map.values()) counts[!up.healthy ? 'unhealthy' : up.ejectedUntil > now ? 'ejected' : 'available'] += 1;
      for (const [state, n] of Object.entries(counts)) out.push([service, state, n]);
    }
    return out;
  }

  private markUp(service: string): void {
    this.registry.markUp(service).catch((err) => this.log.warn({ event: 'gateway.mark_up_failed', service, err: (err as Error).message }, 'up mark not shared'));
  }

  private follow(event: RegistryEvent): void {
    if (this.stopped) return;
    switch (event.type) {
      case 'registered':
      case 'updated':
        this.add(event.instance!);
        // A new instance of a service marked down may serve: let requests try it.
        if (event.type === 'registered' && this.registry.downMark(event.service)) this.markUp(event.service);
        return;
      case 'deregistered':
      case 'expired':
        this.remove(event.service, event.id!);
        return;
      case 'down':
        for (const up of this.of(event.service)) up.ejectedUntil = Math.max(up.ejectedUntil, event.mark!.until);
        return;
      case 'up':
        for (const up of this.of(event.service)) {
          up.ejectedUntil = 0;
          up.consecutiveFailures = 0;
        }
        return;
    }
  }

  private add(instance: ServiceInstance): void {
    let map = this.byService.get(instance.service);
    if (!map) this.byService.set(instance.service, (map = new Map()));
    const before = map.get(instance.id);
    if (before && before.instance.url === instance.url && JSON.stringify(before.instance.check) === JSON.stringify(instance.check)) {
      // A heartbeat or a change of weight or metadata: keep the connections and the state.
      before.instance = instance;
      return;
    }
    before?.close();
    const up = new Upstream(instance, this.config, this.targets);
    map.set(instance.id, up);
    if (instance.check.type !== 'none') this.scheduleCheck(up, 0);
  }

  private remove(service: string, id: string): void {
    const map = this.byService.get(service);
    const up = map?.get(id);
    if (!map || !up) return;
    up.close();
    map.delete(id);
    if (map.size === 0) this.byService.delete(service);
  }

  private scheduleCheck(up: Upstream, delay: number): void {
    const { health } = this.config;
    up.checkTimer = setTimeout(async () => {
      const timeout = up.instance.check.timeout || health.timeout;
      const passed = await checkInstance(up, timeout);
      if (this.stopped || this.byService.get(up.instance.service)?.get(up.instance.id) !== up) return;
      this.metrics.healthChecks.inc({ service: up.instance.service, instance: up.instance.id, result: passed ? 'pass' : 'fail' });
      if (passed) up.checkStreak = up.checkStreak > 0 ? up.checkStreak + 1 : 1;
      else up.checkStreak = up.checkStreak < 0 ? up.checkStreak - 1 : -1;
      if (up.healthy && up.checkStreak <= -health.fall) {
        up.healthy = false;
        this.log.warn({ event: 'gateway.unhealthy', service: up.instance.service, id: up.instance.id }, 'instance failed its health checks');
        if (!this.of(up.instance.service).some((u) => u.available(Date.now()))) this.noneLeft(up.instance.service);
      } else if (!up.healthy && up.checkStreak >= health.rise) {
        up.healthy = true;
        up.ejectedUntil = 0;
        this.log.info({ event: 'gateway.healthy', service: up.instance.service, id: up.instance.id }, 'instance passes its health checks again');
        if (this.registry.downMark(up.instance.service)) this.markUp(up.instance.service);
      }
      this.scheduleCheck(up, up.instance.check.interval || health.interval);
    }, delay);
    up.checkTimer.unref();
  }
}
