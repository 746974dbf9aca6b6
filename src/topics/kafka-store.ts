import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { unavailableError } from '../protocol/errors.js';
import { createKafka } from '../kafka/client.js';
import { KeyedLog } from '../kafka/keyed-log.js';
import { PartitionLog } from '../kafka/partition-log.js';
import { duplicateOf, type IdempotencyClaim } from './kafka-idempotency.js';
import { hashKey, decodeStored, type StoredBody } from './kafka-stored-message.js';
import { KafkaTopicReader } from './kafka-topic-reader.js';
import { KafkaStoreRecords, type SubscriptionRecord } from './kafka-store-records.js';
import { KafkaMetadataStore } from './kafka-metadata.js';
import { KafkaSubscriptionConsumer } from './kafka-subscription.js';
import { Waiters } from './waiters.js';
import {
  type AckOutcome,
  type AppendResult,
  type MetadataStore,
  type NackOptions,
  type NewTopicMessage,
  type PullOptions,
  type ReceivedMessage,
  type SeekTarget,
  type SubscriptionConfig,
  type SubscriptionStats,
  type TopicConfig,
  type TopicMessage,
  type TopicStats,
  type TopicStore,
  type TopicStoreListener,
  type TopicStoreOptions,
} from './store.js';

export interface KafkaTopicStoreSettings {
  brokers: string[];
  clientId: string;
  /** Prefix of every Kafka topic and consumer group the store creates. */
  prefix: string;
  /** Idempotent producer (exactly-once appends per partition); needs brokers that grant producer ids. */
  idempotent: boolean;
  /** A node whose consumer stops heartbeating this long loses its partitions to the other nodes. */
  sessionTimeout: number;
  /** Replication factor of topics the store creates; -1: the cluster's default. */
  replicationFactor: number;
  /** Most messages one node holds in memory per subscription. */
  maxBuffered: number;
}

/** How long a first join of a subscription's group may delay ensureSubscription. */
const JOIN_TIMEOUT_MS = 15_000;
/**
 * Kafka: one Kafka topic per topic, one consumer group per subscription. Kafka keeps only an
 * offset per group and partition, so per-message acknowledgement, ack deadlines, redelivery with
 * attempt counts, nack delays, delayed messages and dead-lettering are kept by the node that owns
 * a partition (KafkaSubscriptionConsumer), which commits the offset only up to the first message
 * not yet acknowledged. Metadata, the store's topic and subscription records and idempotency keys
 * live in two keyed logs (compacted topics) every node follows. See docs/topics.md, "Kafka".
 */
export class KafkaTopicStore implements TopicStore {
  readonly kind = 'kafka' as const;
  readonly metadata: MetadataStore;
  private readonly kafka: Kafka;
  private readonly log: Logger;
  private readonly partitionLog: PartitionLog;
  private readonly producer: Producer;
  private readonly reader: KafkaTopicReader;
  private readonly storeRecords: KafkaStoreRecords;
  private readonly records: KeyedLog<unknown>;
  private readonly claims: KeyedLog<IdempotencyClaim>;
  private readonly consumers = new Map<string, KafkaSubscriptionConsumer>();
  private readonly starting = new Map<string, Promise<KafkaSubscriptionConsumer>>();
  private readonly waiters = new Waiters();
  private listener: TopicStoreListener = {};
  private started: Promise<void> | undefined;
  /** False once the cluster refused CreateTopics: topics are then created on first use. */
  private adminTopics = true;
  private roundRobin = 0;
  private seq = 0;

  constructor(
    private readonly settings: KafkaTopicStoreSettings,
    private readonly options: TopicStoreOptions,
    log: Logger,
  ) {
    this.log = log.child({ component: 'topics.kafka' });
    this.kafka = createKafka({ brokers: settings.brokers, clientId: settings.clientId }, log);
    this.partitionLog = new PartitionLog(this.kafka);
    this.reader = new KafkaTopicReader(this.partitionLog, this.log);
    this.producer = this.kafka.producer({ idempotent: settings.idempotent, allowAutoTopicCreation: true, ...(settings.idempotent && { maxInFlightRequests: 1 }) });
    const onError = (err: unknown) => this.log.warn({ event: 'topics.kafka.follow_failed', err }, 'reading a kafka metadata log failed; retrying');
    this.records = new KeyedLog(`${settings.prefix}.metadata`, this.partitionLog, this.producer, onError);
    this.claims = new KeyedLog(`${settings.prefix}.idempotency`, this.partitionLog, this.producer, onError);
    this.metadata = new KafkaMetadataStore(this.records);
    this.storeRecords = new KafkaStoreRecords(this.records, (command) => this.run(command));
    this.records.onChange((key) => this.recordChanged(key));
  }

  async start(listener: TopicStoreListener = {}): Promise<void> {
    this.listener = listener;
    this.started ??= this.connect().catch((err: unknown) => {
      this.started = undefined;
      throw unavailableError('kafka', err);
    });
    await this.started;
  }

  private async connect(): Promise<void> {
    await this.partitionLog.connect();
    await this.producer.connect();
    const compacted = { 'cleanup.policy': 'compact' };
    await this.createKafkaTopic(`${this.settings.prefix}.metadata`, 1, compacted);
    await this.createKafkaTopic(`${this.settings.prefix}.idempotency`, 1, {
      'cleanup.policy': 'compact,delete',
      'retention.ms': String(Math.max(this.options.idempotencyWindowMs, 60_000)),
    });
    await this.records.start();
    await this.claims.start();
  }

  async close(): Promise<void> {
    this.waiters.wakeAll();
    const consumers = [...this.consumers.values(), ...(await Promise.all([...this.starting.values()].map((p) => p.catch(() => undefined))))];
    this.consumers.clear();
    await Promise.all(consumers.map((c) => c?.stop()));
    if (!this.started) return;
    this.started = undefined;
    await Promise.allSettled([this.records.stop(), this.claims.stop()]);
    await this.producer.disconnect().catch(() => {});
    await this.partitionLog.disconnect();
  }

  private async createKafkaTopic(topic: string, partitions: number, configs: Record<string, string>): Promise<void> {
    if (this.adminTopics && !(await this.partitionLog.createTopic(topic, partitions, this.settings.replicationFactor, configs))) {
      this.adminTopics = false;
      this.log.warn({ event: 'topics.kafka.create_topics_refused', topic }, "the kafka cluster refused CreateTopics; topics are created on first use with the brokers' defaults");
    }
    await this.partitionLog.partitions(topic);
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    if (!this.started) throw unavailableError('kafka', new Error('not connected'));
    try {
      return await command();
    } catch (err) {
      throw unavailableError('kafka', err);
    }
  }

  async ensureTopic(name: string, config: TopicConfig): Promise<void> {
    const existing = this.storeRecords.knownTopic(name);
    if (existing) {
      await this.run(() => this.storeRecords.putTopic(name, { ...existing, config: { ...config, partitions: existing.config.partitions } }));
      return;
    }
    // A new Kafka topic per incarnation: Kafka deletes topics asynchronously, and a topic created
    // again under the same name must not see the old messages.
    const kafkaTopic = `${this.settings.prefix}.${name}.${Date.now().toString(36)}`;
    await this.run(async () => {
      const configs: Record<string, string> = {
        'retention.ms': String(config.retentionMs > 0 ? config.retentionMs : -1),
        'retention.bytes': String(config.retentionBytes > 0 ? config.retentionBytes : -1),
      };
      await this.createKafkaTopic(kafkaTopic, Math.max(1, config.partitions), configs);
      const partitions = (await this.partitionLog.partitions(kafkaTopic)).length;
      await this.storeRecords.putTopic(name, { kafkaTopic, config: { ...config, partitions } });
    });
  }

  async deleteTopic(name: string): Promise<void> {
    const record = this.storeRecords.knownTopic(name);
    if (!record) return;
    await this.run(() => this.storeRecords.putTopic(name, undefined));
    if (!(await this.partitionLog.deleteTopic(record.kafkaTopic))) {
      this.log.info(
        { event: 'topics.kafka.delete_topic_refused', topic: record.kafkaTopic },
        'the kafka cluster refused DeleteTopics; the forgotten topic stays until removed by hand',
      );
    }
  }

  async append(topic: string, messages: NewTopicMessage[]): Promise<AppendResult[]> {
    const record = await this.storeRecords.topic(topic);
    const results: (AppendResult | undefined)[] = new Array(messages.length);
    const toSend: { index: number; body: StoredBody; orderingKey?: string; claimKey?: string }[] = [];
    /** A key repeated within this append: the repeat's index -> the index of the message that claimed the key. */
    const repeats = new Map<number, number>();
    const claimedHere = new Map<string, number>();
    const now = Date.now();
    await this.run(async () => {
      for (const [index, m] of messages.entries()) {
        const body: StoredBody = { id: randomUUID(), seq: this.seq++, data: m.data, attributes: { ...m.attributes } };
        if (m.orderingKey !== undefined) body.orderingKey = m.orderingKey;
        if (m.deliverAt !== undefined) body.deliverAt = m.deliverAt;
        if (m.idempotencyKey === undefined) {
          toSend.push({ index, body, ...(m.orderingKey !== undefined && { orderingKey: m.orderingKey }) });
          continue;
        }
        const claimKey = `${record.kafkaTopic}/${m.idempotencyKey}`;
        const first = claimedHere.get(claimKey);
        if (first !== undefined) {
          // Its claim is this append's own and gets its position only once the batch is sent.
          repeats.set(index, first);
          continue;
        }
        const won = await this.claims.put(claimKey, { id: body.id }, { ifAbsent: true, expiresAt: now + this.options.idempotencyWindowMs });
        if (won) {
          claimedHere.set(claimKey, index);
          toSend.push({ index, body, claimKey, ...(m.orderingKey !== undefined && { orderingKey: m.orderingKey }) });
        } else results[index] = await duplicateOf(this.claims, claimKey);
      }
      if (toSend.length === 0) return;
      // The store picks each record's partition, so it knows every record's offset from the
      // per-partition answer; one ordering key always lands on one partition, in publish order.
      const partitions = (await this.partitionLog.partitions(record.kafkaTopic)).length;
      // Messages without a key stick to one partition per append (in order), the next append uses the next partition.
      const sticky = this.roundRobin++ % partitions;
      const partitionOf = toSend.map((s) => (s.orderingKey !== undefined ? hashKey(s.orderingKey) % partitions : sticky));
      const sent = await this.producer
        .send({
          topic: record.kafkaTopic,
          acks: -1,
          messages: toSend.map((s, i) => ({ partition: partitionOf[i]!, key: s.orderingKey ?? null, value: JSON.stringify(s.body), timestamp: String(now) })),
        })
        .catch(async (err: unknown) => {
          // Nothing was stored: free this append's keys, or every retry would wait for a message that never comes.
          await Promise.allSettled([...claimedHere.keys()].map((claimKey) => this.claims.put(claimKey, undefined)));
          throw err;
        });
      const next = new Map(sent.map((r) => [r.partition, Number(r.baseOffset)]));
      for (const [i, s] of toSend.entries()) {
        const partition = partitionOf[i]!;
        const offset = next.get(partition)!;
        next.set(partition, offset + 1);
        const position = `${partition}:${offset}`;
        results[s.index] = { id: s.body.id, position, duplicate: false };
        if (s.claimKey) await this.claims.put(s.claimKey, { id: s.body.id, position }, { expiresAt: now + this.options.idempotencyWindowMs });
      }
      for (const [index, first] of repeats) results[index] = { ...results[first]!, duplicate: true };
    });
    this.waiters.wake(topic);
    return results as AppendResult[];
  }

  async read(topic: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    const record = await this.storeRecords.topic(topic);
    return this.run(() => this.reader.read(record.kafkaTopic, record.config.retentionMs, opts));
  }

  async ensureSubscription(name: string, config: SubscriptionConfig): Promise<void> {
    const topic = await this.storeRecords.topic(config.topic);
    const existing = this.storeRecords.knownSubscription(name);
    if (existing) {
      await this.run(() => this.storeRecords.putSubscription(name, { ...existing, config }));
      this.consumers.get(name)?.updateConfig(config);
      return;
    }
    const record: SubscriptionRecord = { config, kafkaTopic: topic.kafkaTopic, groupId: this.groupId(name) };
    await this.run(async () => {
      await this.partitionLog.commitAsOutsider(record.groupId, record.kafkaTopic, await this.reader.startOffsets(record.kafkaTopic, undefined));
      await this.storeRecords.putSubscription(name, record);
    });
    // Join now, so this node already holds partitions when the first messages arrive.
    await this.consumer(name, record);
  }

  private groupId(name: string): string {
    return `${this.settings.prefix}.${name}.${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
  }

  async deleteSubscription(name: string): Promise<void> {
    if (!this.storeRecords.hasSubscription(name)) return;
    await this.run(() => this.storeRecords.putSubscription(name, undefined));
    await this.stopConsumer(name);
  }

  /** Another node (or this one) changed a record: a consumer of a deleted or re-sought subscription stops. */
  private recordChanged(key: string): void {
    const name = this.storeRecords.subscriptionOf(key);
    if (name === undefined) return;
    const record = this.storeRecords.knownSubscription(name);
    const consumer = this.consumers.get(name);
    if (!consumer) return;
    if (record && record.groupId === consumer.groupId) consumer.updateConfig(record.config);
    else void this.stopConsumer(name);
  }

  private async stopConsumer(name: string): Promise<void> {
    const consumer = this.consumers.get(name);
    this.consumers.delete(name);
    this.waiters.wakeAll();
    await consumer?.stop();
  }

  /** This node's member of the subscription's current group, started on first use. */
  private async consumer(name: string, record: SubscriptionRecord): Promise<KafkaSubscriptionConsumer> {
    const known = this.consumers.get(name);
    if (known?.groupId === record.groupId) return known;
    const pending = this.starting.get(name);
    if (pending) return pending;
    if (known) await this.stopConsumer(name);
    const topicName = record.config.topic;
    const consumer = new KafkaSubscriptionConsumer(this.kafka, {
      name,
      groupId: record.groupId,
      kafkaTopic: record.kafkaTopic,
      config: record.config,
      sessionTimeout: this.settings.sessionTimeout,
      maxBuffered: this.settings.maxBuffered,
      decode: (partition: number, message: KafkaMessage) => decodeStored(partition, message, this.log)?.message,
      onReady: () => this.waiters.wake(topicName),
      log: this.log,
    });
    const starting = consumer
      .start(JOIN_TIMEOUT_MS)
      .then(() => {
        this.consumers.set(name, consumer);
        return consumer;
      })
      .catch(async (err: unknown) => {
        await consumer.stop();
        throw unavailableError('kafka', err);
      })
      .finally(() => this.starting.delete(name));
    this.starting.set(name, starting);
    return starting;
  }

  async pull(name: string, opts: PullOptions): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + opts.waitMs;
    for (;;) {
      const record = await this.storeRecords.subscription(name);
      const consumer = await this.consumer(name, record);
      const got = await this.take(name, record, consumer, opts.maxMessages);
      const left = deadline - Date.now();
      if (got.length > 0 || left <= 0 || opts.signal?.aborted || !this.started) return got;
      await this.waiters.wait(record.config.topic, Math.min(left, consumer.nextDueIn()), opts.signal);
    }
  }

  private async take(name: string, record: SubscriptionRecord, consumer: KafkaSubscriptionConsumer, max: number): Promise<ReceivedMessage[]> {
    const topic = this.storeRecords.knownTopic(record.config.topic);
    const { received, exhausted } = consumer.take(max, topic?.config.retentionMs ?? 0);
    const { topic: topicName, deadLetterTopic } = record.config;
    for (const e of exhausted) {
      await this.listener.exhausted?.({ subscription: name, topic: topicName, deadLetterTopic, message: e.message, attempts: e.attempts });
      await consumer.settleExhausted(e.partition, e.offset);
    }
    for (const r of received) if (r.attempt > 1) this.listener.redelivered?.(name, record.config.topic);
    return received;
  }

  /** The consumer that may know these ack ids: this node's member of the subscription's current group. */
  private async settling(name: string): Promise<KafkaSubscriptionConsumer | undefined> {
    const record = await this.storeRecords.subscription(name);
    const consumer = this.consumers.get(name);
    return consumer?.groupId === record.groupId ? consumer : undefined;
  }

  async ack(name: string, ackIds: string[]): Promise<AckOutcome[]> {
    const consumer = await this.settling(name);
    return consumer ? consumer.ack(ackIds) : ackIds.map(() => 'unknown');
  }

  async nack(name: string, ackIds: string[], delayMs: number, opts: NackOptions = {}): Promise<AckOutcome[]> {
    const consumer = await this.settling(name);
    return consumer ? consumer.nack(ackIds, delayMs, opts.notAttempted === true) : ackIds.map(() => 'unknown');
  }

  async extend(name: string, ackIds: string[], extendMs: number): Promise<AckOutcome[]> {
    const consumer = await this.settling(name);
    return consumer ? consumer.extend(ackIds, extendMs) : ackIds.map(() => 'unknown');
  }

  /** A seek starts a new consumer group at the target's offsets; every node's member of the old group stops. */
  async seek(name: string, target: SeekTarget): Promise<void> {
    const record = await this.storeRecords.subscription(name);
    const next: SubscriptionRecord = { ...record, groupId: this.groupId(name) };
    await this.run(async () => {
      await this.partitionLog.commitAsOutsider(next.groupId, next.kafkaTopic, await this.reader.startOffsets(next.kafkaTopic, target));
      await this.storeRecords.putSubscription(name, next);
    });
    await this.consumer(name, next);
  }

  async subscriptionStats(name: string): Promise<SubscriptionStats> {
    const record = await this.storeRecords.subscription(name);
    const topic = this.storeRecords.knownTopic(record.config.topic);
    if (!topic) return { unacked: 0, oldestUnackedAgeMs: 0 };
    const acked = () => {
      const consumer = this.consumers.get(name);
      return consumer?.groupId === record.groupId ? consumer.ackedAboveCommit() : new Map<number, number>();
    };
    return this.run(() => this.reader.backlog(record.kafkaTopic, record.groupId, acked));
  }

  async topicStats(name: string): Promise<TopicStats> {
    const record = await this.storeRecords.topic(name);
    return this.run(() => this.reader.stats(record.kafkaTopic));
  }
}
