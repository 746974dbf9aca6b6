import type { Config } from './config/schema.js';
import type { Broker } from './brokers/broker.js';
import { MemoryBroker, type MemoryBus } from './brokers/memory.js';

/**
 * The broker the config names; `bus` lets in-process memory nodes share one (tests). Only the
 * named broker's client library is loaded.
 */
export async function createBroker(config: Config['broker'], bus?: MemoryBus): Promise<Broker> {
  switch (config.type) {
    case 'memory':
      return new MemoryBroker(bus);
    case 'redis': {
      const { RedisBroker } = await import('./brokers/redis/broker.js');
      return new RedisBroker(config.redis);
    }
    case 'nats': {
      const { NatsBroker } = await import('./brokers/nats/broker.js');
      return new NatsBroker(config.nats);
    }
  }
}
