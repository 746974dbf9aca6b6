import type { KeyedLog } from '../kafka/keyed-log.js';
import { SwitchboardError } from '../protocol/errors.js';
import type { SubscriptionConfig, TopicConfig } from './store.js';

/** The store's record of a topic: which Kafka topic holds it and its settings. */
export interface TopicRecord {
  kafkaTopic: string;
  config: TopicConfig;
}

/** The store's record of a subscription; a seek starts a new consumer group. */
export interface SubscriptionRecord {
  config: SubscriptionConfig;
  kafkaTopic: string;
  groupId: string;
}

const STORE_TOPIC = 'store-topic/';
const STORE_SUBSCRIPTION = 'store-subscription/';

/** The store's own records of topics and subscriptions, kept beside the metadata in the keyed log every node follows. */
export class KafkaStoreRecords {
  constructor(
    private readonly log: KeyedLog<unknown>,
    private readonly run: <T>(command: () => Promise<T>) => Promise<T>,
  ) {}

  knownTopic(name: string): TopicRecord | undefined {
    return this.log.get(STORE_TOPIC + name)?.value as TopicRecord | undefined;
  }

  knownSubscription(name: string): SubscriptionRecord | undefined {
    return this.log.get(STORE_SUBSCRIPTION + name)?.value as SubscriptionRecord | undefined;
  }

  hasSubscription(name: string): boolean {
    return this.log.get(STORE_SUBSCRIPTION + name) !== undefined;
  }

  /** The subscription whose record `key` is, if it is one. */
  subscriptionOf(key: string): string | undefined {
    return key.startsWith(STORE_SUBSCRIPTION) ? key.slice(STORE_SUBSCRIPTION.length) : undefined;
  }

  async topic(name: string): Promise<TopicRecord> {
    const record = await this.record<TopicRecord>(STORE_TOPIC + name);
    if (!record) throw new SwitchboardError('not_found', `no topic ${name}`);
    return record;
  }

  async subscription(name: string): Promise<SubscriptionRecord> {
    const record = await this.record<SubscriptionRecord>(STORE_SUBSCRIPTION + name);
    if (!record) throw new SwitchboardError('not_found', `no subscription ${name}`);
    return record;
  }

  async putTopic(name: string, record: TopicRecord | undefined): Promise<void> {
    await this.log.put(STORE_TOPIC + name, record);
  }

  async putSubscription(name: string, record: SubscriptionRecord | undefined): Promise<void> {
    await this.log.put(STORE_SUBSCRIPTION + name, record);
  }

  /** A record from the followed log; on a miss, catches up with the log first (another node may just have written it). */
  private async record<T>(key: string): Promise<T | undefined> {
    const known = this.log.get(key);
    if (known) return known.value as T;
    await this.run(() => this.log.catchUp());
    return this.log.get(key)?.value as T | undefined;
  }
}
