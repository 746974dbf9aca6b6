import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { MemoryRegistryStore } from './memory-store.js';
import { LocalRateLimiter, type RateLimiter } from './rate-limit.js';
import type { RegistryStore } from './store.js';

/** Where the gateway keeps its registry and counts its rate limits. */
export interface GatewayStores {
  registry: RegistryStore;
  rateLimiter: RateLimiter;
}

/**
 * The registry store on the node's broker, with a connection of its own from the same settings;
 * on Redis, rate limits are counted there too. Only the configured broker's client is loaded.
 */
export async function createGatewayStores(broker: Config['broker'], log: Logger): Promise<GatewayStores> {
  switch (broker.type) {
    case 'memory':
      return { registry: new MemoryRegistryStore(), rateLimiter: new LocalRateLimiter() };
    case 'redis': {
      const { RedisRegistryStore } = await import('./redis-store.js');
      const registry = new RedisRegistryStore(broker.redis);
      return { registry, rateLimiter: registry.sharedRateLimiter(log) };
    }
    case 'nats': {
      const { NatsRegistryStore } = await import('./nats-store.js');
      return { registry: new NatsRegistryStore(broker.nats), rateLimiter: new LocalRateLimiter() };
    }
  }
}
