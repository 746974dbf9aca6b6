import type { Logger } from 'pino';
import { createRedisClient, type RedisClient, type RedisSettings } from '../backends/redis.js';
import { SwitchboardError, unavailableError } from '../protocol/errors.js';
import type { DownMark, ServiceInstance } from './instances.js';
import { instanceKey } from './instances.js';
import { RedisRateLimiter, type RateLimiter } from './rate-limit.js';
import type { RegistrySnapshot, RegistryStore, StoreChange, StoreListener } from './store.js';

export interface RedisStoreOptions extends RedisSettings {
  prefix: string;
}

/**
 * The registry in Redis: a hash of instances (field `service\nid`, value the instance as JSON), a
 * hash of down marks by service, and a pub/sub channel on which every write is announced with
 * its new value, so each node updates its copy without reading. A node that reconnects reads
 * both hashes again (the listener's `reconnected`).
 */
export class RedisRegistryStore implements RegistryStore {
  private readonly commands: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly prefix: string;
  private readonly instancesKey: string;
  private readonly downKey: string;
  private readonly channel: string;
  private listener: StoreListener | undefined;
  private connectedOnce = false;

  constructor(options: RedisStoreOptions) {
    this.commands = createRedisClient(options, { offlineQueue: false, reconnect: true });
    this.subscriber = createRedisClient(options, { offlineQueue: true, reconnect: true });
    this.prefix = options.prefix;
    this.instancesKey = `${options.prefix}gateway:instances`;
    this.downKey = `${options.prefix}gateway:down`;
    this.channel = `${options.prefix}gateway:changes`;
    this.subscriber.on('message', (_channel: string, message: string) => this.receive(message));
    this.subscriber.on('ready', () => {
      if (this.connectedOnce) this.listener?.reconnected();
    });
  }

  async start(listener: StoreListener): Promise<void> {
    this.listener = listener;
    try {
      await Promise.all([this.commands.connect(), this.subscriber.connect()]);
      await this.subscriber.subscribe(this.channel);
    } catch (err) {
      throw unavailableError('the service registry (redis)', err);
    }
    this.connectedOnce = true;
  }

  /** Counts on the command connection, so every node shares each window. */
  sharedRateLimiter(log: Logger): RateLimiter {
    return new RedisRateLimiter(this.commands, this.prefix, log);
  }

  async snapshot(): Promise<RegistrySnapshot> {
    const [instances, down] = await this.run(() => Promise.all([this.commands.hgetall(this.instancesKey), this.commands.hgetall(this.downKey)]));
    return {
      instances: Object.values(instances).map((text) => JSON.parse(text) as ServiceInstance),
      down: Object.entries(down).map(([service, text]) => [service, JSON.parse(text) as DownMark]),
    };
  }

  async put(instance: ServiceInstance, onlyIfAbsent: boolean): Promise<boolean> {
    const field = instanceKey(instance.service, instance.id);
    const value = JSON.stringify(instance);
    return this.run(async () => {
      if (onlyIfAbsent) {
        if ((await this.commands.hsetnx(this.instancesKey, field, value)) === 0) return false;
      } else {
        await this.commands.hset(this.instancesKey, field, value);
      }
      await this.announce({ kind: 'instance', service: instance.service, id: instance.id, instance });
      return true;
    });
  }

  async remove(service: string, id: string): Promise<boolean> {
    return this.run(async () => {
      if ((await this.commands.hdel(this.instancesKey, instanceKey(service, id))) === 0) return false;
      await this.announce({ kind: 'instance', service, id, instance: undefined });
      return true;
    });
  }

  async setDown(service: string, mark: DownMark | undefined): Promise<void> {
    await this.run(async () => {
      if (mark) await this.commands.hset(this.downKey, service, JSON.stringify(mark));
      else if ((await this.commands.hdel(this.downKey, service)) === 0) return;
      await this.announce({ kind: 'down', service, mark });
    });
  }

  async close(): Promise<void> {
    this.listener = undefined;
    this.commands.disconnect();
    this.subscriber.disconnect();
  }

  private async announce(change: StoreChange): Promise<void> {
    await this.commands.publish(this.channel, JSON.stringify(change));
  }

  private receive(message: string): void {
    let change: StoreChange;
    try {
      change = JSON.parse(message) as StoreChange;
    } catch {
      return;
    }
    this.listener?.change(change);
  }

  private async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      if (err instanceof SwitchboardError) throw err;
      throw unavailableError('the service registry (redis)', err);
    }
  }
}
