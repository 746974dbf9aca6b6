import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { MemoryTopicStore } from './memory-store.js';
import type { TopicStore } from './store.js';

/**
 * The topic store topics.store names; `broker` follows broker.type and reuses its connection
 * settings. Only the named store's client library is loaded.
 */
export async function createTopicStore(config: Pick<Config, 'topics' | 'broker'>, log: Logger): Promise<TopicStore> {
  const options = { idempotencyWindowMs: config.topics.idempotencyWindow };
  const kind = config.topics.store === 'broker' ? config.broker.type : config.topics.store;
  switch (kind) {
    case 'memory':
      return new MemoryTopicStore(options);
    case 'redis': {
      const { RedisTopicStore } = await import('./redis-store.js');
      return new RedisTopicStore(config.broker.redis, options);
    }
    case 'nats': {
      const { NatsTopicStore } = await import('./nats-store.js');
      return new NatsTopicStore(config.broker.nats, options);
    }
    case 'kafka': {
      const { KafkaTopicStore } = await import('./kafka-store.js');
      return new KafkaTopicStore(config.topics.kafka, options, log);
    }
  }
}
