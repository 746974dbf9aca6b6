import type { Config } from '../config/schema.js';
import { MemoryRegistryStore, type RegistryStore } from './store.js';
import { NatsRegistryStore } from './store-nats.js';
import { RedisRegistryStore } from './store-redis.js';

/** The registry store on the node's broker, with a connection of its own from the same settings. */
export function createRegistryStore(broker: Config['broker']): RegistryStore {
  switch (broker.type) {
    case 'memory':
      return new MemoryRegistryStore();
    case 'redis':
      return new RedisRegistryStore(broker.redis);
    case 'nats':
      return new NatsRegistryStore(broker.nats);
  }
}
