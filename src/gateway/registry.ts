import type { Logger } from 'pino';
import { SwitchboardError } from '../protocol/errors.js';
import { isMapping, show } from '../config/values.js';
import type { Config } from '../config/schema.js';
import { idFromUrl, instanceIdPattern, parseHealthCheck, parseInstanceUrl, parseMetadata, parseWeight, serviceNamePattern, type StaticService } from '../config/gateway.js';
import { instanceKey, type DownMark, type ServiceInstance } from './instances.js';
import type { GatewayMetrics } from './metrics.js';
import type { RegistryStore, StoreChange } from './store.js';
import type { TargetPolicy } from '../outbound/targets.js';

/** What an operator watching the registry sees. */
export type RegistryEventType = 'registered' | 'updated' | 'deregistered' | 'expired' | 'down' | 'up';

export interface RegistryEvent {
  type: RegistryEventType;
  service: string;
  id?: string;
  instance?: ServiceInstance;
  mark?: DownMark;
  time: number;
}

export interface ServiceView {
  name: string;
  down: DownMark | null;
  instances: ServiceInstance[];
}

/** Longest TTL a registration may ask for. */
const MAX_TTL = 24 * 3600_000;
const registrationKeys = ['id', 'url', 'weight', 'metadata', 'check', 'ttl'];

/** Reads a registration body; every problem is a `bad_request` naming the field. */
function parseRegistration(service: string, body: unknown, node: string, now: number): ServiceInstance {
  if (!serviceNamePattern.test(service)) throw new SwitchboardError('bad_request', `service name ${show(service)} must match ${serviceNamePattern.source}`);
  if (!isMapping(body)) throw new SwitchboardError('bad_request', 'send a JSON object: {"url", "id"?, "weight"?, "metadata"?, "check"?, "ttl"?}');
  try {
    for (const key of Object.keys(body)) if (!registrationKeys.includes(key)) throw new Error(`unknown field ${JSON.stringify(key)}`);
    const { url, protocol } = parseInstanceUrl(body.url);
    const id = body.id === undefined ? idFromUrl(url) : body.id;
    if (typeof id !== 'string' || !instanceIdPattern.test(id)) throw new Error(`id: ${show(id)} must match ${instanceIdPattern.source}`);
    const ttl = body.ttl === undefined ? 0 : body.ttl;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) throw new Error(`ttl: expected milliseconds from 0 to ${MAX_TTL}, got ${show(ttl)}`);
    const check = parseHealthCheck(body.check, 'check');
    if (check.type === 'grpc' && protocol !== 'grpc') throw new Error('check: a grpc check needs a grpc:// instance');
    return {
      service,
      id,
      url,
      protocol,
      weight: parseWeight(body.weight),
      metadata: parseMetadata(body.metadata),
      check,
      ttl,
      expiresAt: ttl > 0 ? now + ttl : 0,
      registeredAt: now,
      node,
      source: 'api',
    };
  } catch (err) {
    throw new SwitchboardError('bad_request', `invalid registration: ${(err as Error).message}`);
  }
}

/** Same instance, apart from liveness: a heartbeat is not an update. */
function sameRegistration(a: ServiceInstance, b: ServiceInstance): boolean {
  return a.url === b.url && a.weight === b.weight && a.ttl === b.ttl && JSON.stringify([a.metadata, a.check]) === JSON.stringify([b.metadata, b.check]);
}

/**
 * The services this node knows: configured ones, and registrations shared through the store.
 * Registrations live until deregistered, or, with a TTL, until no heartbeat came for that long
 * (any node removes an expired one). Every change, wherever it was made, reaches every node's copy
 * and its watchers as an event.
 */
export class ServiceRegistry {
  private readonly instances = new Map<string, Map<string, ServiceInstance>>();
  private readonly down = new Map<string, DownMark>();
  private readonly listeners = new Set<(event: RegistryEvent) => void>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** Registration budget of this node: a token bucket refilled at registrationsPerSecond. */
  private tokens: number;
  private refilledAt = Date.now();
  private count = 0;
  /** Expired instances whose removal is under way, so the sweep asks once. */
  private readonly sweeping = new Set<string>();

  constructor(
    private readonly store: RegistryStore,
    private readonly config: Config['gateway']['registry'],
    staticServices: Record<string, StaticService>,
    private readonly nodeId: string,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    private readonly targets: TargetPolicy,
  ) {
    this.tokens = config.registrationsPerSecond;
    for (const [service, spec] of Object.entries(staticServices)) {
      for (const inst of spec.instances) {
        const { protocol } = parseInstanceUrl(inst.url);
        this.cache({ service, ...inst, protocol, check: spec.check, ttl: 0, expiresAt: 0, registeredAt: Date.now(), node: nodeId, source: 'config' });
      }
    }
  }

  async start(): Promise<void> {
    await this.store.start({
      change: (change) => this.apply(change),
      reconnected: () => void this.resync(),
    });
    await this.resync();
    this.sweepTimer = setInterval(() => this.sweep(), 250);
    this.sweepTimer.unref();
    this.resyncTimer = setInterval(() => void this.resync(), this.config.resyncInterval);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearInterval(this.resyncTimer);
    this.listeners.clear();
    await this.store.close();
  }

  onEvent(listener: (event: RegistryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Live instances of a service (expired ones are left out even before they are swept). */
  live(service: string, now = Date.now()): ServiceInstance[] {
    const map = this.instances.get(service);
    if (!map) return [];
    const out: ServiceInstance[] = [];
    for (const inst of map.values()) if (inst.expiresAt === 0 || inst.expiresAt > now) out.push(inst);
    return out;
  }

  get(service: string, id: string): ServiceInstance | undefined {
    return this.instances.get(service)?.get(id);
  }

  downMark(service: string): DownMark | undefined {
    return this.down.get(service);
  }

  list(): ServiceView[] {
    const names = new Set([...this.instances.keys(), ...this.down.keys()]);
    return [...names].sort().map((name) => this.view(name)!);
  }

  view(name: string): ServiceView | undefined {
    if (!this.instances.has(name) && !this.down.has(name)) return undefined;
    return { name, down: this.down.get(name) ?? null, instances: this.live(name) };
  }

  /**
   * Registers an instance. One that exists (same service and id) is accepted as it is, only its
   * TTL is refreshed; `created` tells which happened.
   */
  async register(service: string, body: unknown): Promise<{ instance: ServiceInstance; created: boolean }> {
    const now = Date.now();
    const instance = parseRegistration(service, body, this.nodeId, now);
    this.admit('register');
    // Registered instances are not the operator's: they may not reach internal addresses (configured ones may).
    await this.targets.check(instance.url, 'gateway');
    const existing = this.get(service, instance.id);
    if (existing?.source === 'config') throw new SwitchboardError('forbidden', `instance ${instance.id} of ${service} is configured, not registered`);
    if (!existing && this.count >= this.config.maxInstances) {
      this.metrics.registrations.inc({ outcome: 'limit_exceeded' });
      this.metrics.stats.limit('registrations');
      throw new SwitchboardError('limit_exceeded', `the registry holds its maximum of ${this.config.maxInstances} instances`);
    }
    if (await this.store.put(instance, true)) {
      this.metrics.registrations.inc({ outcome: 'created' });
      this.log.info({ event: 'gateway.registered', service, id: instance.id, url: instance.url }, 'service instance registered');
      this.cache(instance);
      return { instance, created: true };
    }
    this.metrics.registrations.inc({ outcome: 'existed' });
    const stored = this.get(service, instance.id) ?? instance;
    return { instance: stored.ttl > 0 ? await this.refresh(stored, now) : stored, created: false };
  }

  /** A heartbeat: the instance lives another TTL. */
  async heartbeat(service: string, id: string): Promise<ServiceInstance> {
    this.admit('heartbeat');
    const existing = this.get(service, id);
    if (!existing || (existing.expiresAt !== 0 && existing.expiresAt <= Date.now())) {
      throw new SwitchboardError('not_found', `no instance ${id} of service ${service}; register it again`);
    }
    this.metrics.registrations.inc({ outcome: 'heartbeat' });
    return existing.ttl > 0 ? this.refresh(existing, Date.now()) : existing;
  }

  async deregister(service: string, id: string): Promise<void> {
    const existing = this.get(service, id);
    if (existing?.source === 'config') throw new SwitchboardError('forbidden', `instance ${id} of ${service} is configured, not registered`);
    if (!(await this.store.remove(service, id))) throw new SwitchboardError('not_found', `no instance ${id} of service ${service}`);
    this.metrics.registrations.inc({ outcome: 'deregistered' });
    this.log.info({ event: 'gateway.deregistered', service, id }, 'service instance deregistered');
    this.uncache(service, id, 'deregistered');
  }

  /** Tells every node the service has no instance left; requests to it are refused until `until` or until one is back. */
  async markDown(service: string, until: number): Promise<void> {
    const mark: DownMark = { since: Date.now(), until, node: this.nodeId };
    this.setDown(service, mark);
    await this.store.setDown(service, mark);
  }

  async markUp(service: string): Promise<void> {
    if (!this.down.has(service)) return;
    this.setDown(service, undefined);
    await this.store.setDown(service, undefined);
  }

  private async refresh(instance: ServiceInstance, now: number): Promise<ServiceInstance> {
    const refreshed = { ...instance, expiresAt: now + instance.ttl };
    await this.store.put(refreshed, false);
    this.cache(refreshed);
    return refreshed;
  }

  private admit(what: 'register' | 'heartbeat'): void {
    const now = Date.now();
    const rate = this.config.registrationsPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return;
    }
    this.metrics.registrations.inc({ outcome: 'rate_limited' });
    this.metrics.stats.limit('registrations');
    throw new SwitchboardError('rate_limited', `too many registrations and heartbeats on this node (${what}); at most ${rate} per second`);
  }

  /** A change from the store: this node's or another's. */
  private apply(change: StoreChange): void {
    if (change.kind === 'down') {
      this.setDown(change.service, change.mark);
      return;
    }
    if (change.instance) this.cache(change.instance);
    else this.uncache(change.service, change.id, 'deregistered');
  }

  private cache(instance: ServiceInstance): void {
    let map = this.instances.get(instance.service);
    if (!map) this.instances.set(instance.service, (map = new Map()));
    const before = map.get(instance.id);
    if (before?.source === 'config' && instance.source !== 'config') return;
    map.set(instance.id, instance);
    if (!before) this.count += instance.source === 'api' ? 1 : 0;
    if (!before) this.emit({ type: 'registered', service: instance.service, id: instance.id, instance, time: Date.now() });
    else if (!sameRegistration(before, instance)) this.emit({ type: 'updated', service: instance.service, id: instance.id, instance, time: Date.now() });
  }

  private uncache(service: string, id: string, reason: 'deregistered' | 'expired'): void {
    const map = this.instances.get(service);
    const before = map?.get(id);
    if (!map || !before || before.source === 'config') return;
    map.delete(id);
    this.count -= 1;
    if (map.size === 0) this.instances.delete(service);
    // Another node's sweep removed it: it was past its expiry here too.
    const type = reason === 'expired' || (before.expiresAt !== 0 && before.expiresAt <= Date.now()) ? 'expired' : 'deregistered';
    this.emit({ type, service, id, instance: before, time: Date.now() });
  }

  private setDown(service: string, mark: DownMark | undefined): void {
    const before = this.down.get(service);
    if (mark) {
      this.down.set(service, mark);
      if (!before) {
        this.log.warn({ event: 'gateway.service_down', service, until: mark.until, by: mark.node }, 'service has no instance left');
        this.emit({ type: 'down', service, mark, time: Date.now() });
      }
    } else if (before) {
      this.down.delete(service);
      this.log.info({ event: 'gateway.service_up', service }, 'service is back');
      this.emit({ type: 'up', service, time: Date.now() });
    }
  }

  /** Removes registrations whose TTL passed without a heartbeat; the store tells every node. */
  private sweep(): void {
    const now = Date.now();
    for (const map of this.instances.values()) {
      for (const inst of map.values()) {
        const key = instanceKey(inst.service, inst.id);
        if (inst.expiresAt === 0 || inst.expiresAt > now || this.sweeping.has(key)) continue;
        this.sweeping.add(key);
        this.store
          .remove(inst.service, inst.id)
          .finally(() => this.sweeping.delete(key))
          .then(
            (removed) => {
              if (removed) this.log.info({ event: 'gateway.expired', service: inst.service, id: inst.id }, 'service instance expired without a heartbeat');
              this.uncache(inst.service, inst.id, 'expired');
            },
            (err) => this.log.warn({ event: 'gateway.sweep_failed', err: (err as Error).message }, 'expired instance not removed'),
          );
      }
    }
  }

  /** Reads the whole registry from the store and brings this node's copy in line, with events for what changed. */
  private async resync(): Promise<void> {
    let snapshot;
    try {
      snapshot = await this.store.snapshot();
    } catch (err) {
      this.log.warn({ event: 'gateway.resync_failed', err: (err as Error).message }, 'service registry not read');
      return;
    }
    const seen = new Set<string>();
    for (const inst of snapshot.instances) {
      seen.add(instanceKey(inst.service, inst.id));
      this.cache(inst);
    }
    for (const map of [...this.instances.values()]) {
      for (const inst of [...map.values()]) if (inst.source === 'api' && !seen.has(instanceKey(inst.service, inst.id))) this.uncache(inst.service, inst.id, 'deregistered');
    }
    const marks = new Map(snapshot.down);
    for (const service of [...this.down.keys()]) if (!marks.has(service)) this.setDown(service, undefined);
    for (const [service, mark] of marks) this.setDown(service, mark);
  }

  private emit(event: RegistryEvent): void {
    this.metrics.events.inc({ type: event.type });
    for (const listener of this.listeners) listener(event);
  }
}
