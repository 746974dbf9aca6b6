import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { KafkaTopicStore } from './kafka-store.js';
import { MemoryTopicStore } from './memory-store.js';
import { NatsTopicStore } from './nats-store.js';
import { RedisTopicStore } from './redis-store.js';
import type { TopicStore } from './store.js';

/** The topic store topics.store names; `broker` follows broker.type and reuses its connection settings. */
export function createTopicStore(config: Pick<Config, 'topics' | 'broker'>, log: Logger): TopicStore {
  const options = { idempotencyWindowMs: config.topics.idempotencyWindow };
  const kind = config.topics.store === 'broker' ? config.broker.type : config.topics.store;
  switch (kind) {
    case 'memory':
      return new MemoryTopicStore(options);
    case 'redis':
      return new RedisTopicStore(config.broker.redis, options);
    case 'nats':
      return new NatsTopicStore(config.broker.nats, options);
    case 'kafka':
      return new KafkaTopicStore(config.topics.kafka, options, log);
  }
}
