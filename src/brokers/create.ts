import type { Config } from '../config/schema.js';
import type { Broker } from './broker.js';
import { MemoryBroker, type MemoryBus } from './memory.js';
import { NatsBroker } from './nats/broker.js';
import { RedisBroker } from './redis/broker.js';

/** The broker the config names; `bus` lets in-process memory nodes share one (tests). */
export function createBroker(config: Config['broker'], bus?: MemoryBus): Broker {
  switch (config.type) {
    case 'memory':
      return new MemoryBroker(bus);
    case 'redis':
      return new RedisBroker(config.redis);
    case 'nats':
      return new NatsBroker(config.nats);
  }
}
