import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { SwitchboardError, unavailableError } from '../protocol/errors.js';
import { createKafka } from '../kafka/client.js';
import { KeyedLog } from '../kafka/keyed-log.js';
import { PartitionLog, type LogRecord } from '../kafka/partition-log.js';
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

/** The message body as stored in Kafka; position and publish time come from the record. */
interface StoredBody {
  id: string;
  /** Rises with every message this process appends: orders records of one millisecond across partitions in {@link KafkaTopicStore.read}. */
  seq: number;
  data: unknown;
  attributes: Record<string, string>;
  orderingKey?: string;
  deliverAt?: number;
}

/** The store's record of a topic: which Kafka topic holds it and its settings. */
interface TopicRecord {
  kafkaTopic: string;
  config: TopicConfig;
}

/** The store's record of a subscription; a seek starts a new consumer group. */
interface SubscriptionRecord {
  config: SubscriptionConfig;
  kafkaTopic: string;
  groupId: string;
}

/** The winner of an idempotency key; `position` is written once its message is stored. */
interface IdempotencyClaim {
  id: string;
  position?: string;
}

const STORE_TOPIC = 'store-topic/';
const STORE_SUBSCRIPTION = 'store-subscription/';
/** How long a first join of a subscription's group may delay ensureSubscription. */
const JOIN_TIMEOUT_MS = 15_000;
/** How long a duplicate waits for the first publisher of its key to finish storing the message. */
const CLAIM_WAIT_MS = 5000;

/** FNV-1a: a stable partition for an ordering key. */
function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function parsePosition(position: string): { partition: number; offset: number } {
  const match = /^(\d{1,9}):(\d{1,15})$/.exec(position);
  if (!match) throw new SwitchboardError('bad_request', `not a position of this store (partition:offset): ${position}`);
  return { partition: Number(match[1]), offset: Number(match[2]) };
}

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
    this.producer = this.kafka.producer({ idempotent: settings.idempotent, allowAutoTopicCreation: true, ...(settings.idempotent && { maxInFlightRequests: 1 }) });
    const onError = (err: unknown) => this.log.warn({ event: 'topics.kafka.follow_failed', err }, 'reading a kafka metadata log failed; retrying');
    this.records = new KeyedLog(`${settings.prefix}.metadata`, this.partitionLog, this.producer, onError);
    this.claims = new KeyedLog(`${settings.prefix}.idempotency`, this.partitionLog, this.producer, onError);
    this.metadata = new KafkaMetadataStore(this.records);
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
    await this.createKafkaTopic(`${this.settings.prefix}.idempotency`, 1, { 'cleanup.policy': 'compact,delete', 'retention.ms': String(Math.max(this.options.idempotencyWindowMs, 60_000)) });
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
      this.log.warn({ event: 'topics.kafka.create_topics_refused', topic }, 'the kafka cluster refused CreateTopics; topics are created on first use with the brokers\' defaults');
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

  /** A store record from the followed log; on a miss, catches up with the log first (another node may just have written it). */
  private async record<T>(key: string): Promise<T | undefined> {
    const known = this.records.get(key);
    if (known) return known.value as T;
    await this.run(() => this.records.catchUp());
    return this.records.get(key)?.value as T | undefined;
  }

  private async topicRecord(name: string): Promise<TopicRecord> {
    const record = await this.record<TopicRecord>(STORE_TOPIC + name);
    if (!record) throw new SwitchboardError('not_found', `no topic ${name}`);
    return record;
  }

  private async subscriptionRecord(name: string): Promise<SubscriptionRecord> {
    const record = await this.record<SubscriptionRecord>(STORE_SUBSCRIPTION + name);
    if (!record) throw new SwitchboardError('not_found', `no subscription ${name}`);
    return record;
  }

  async ensureTopic(name: string, config: TopicConfig): Promise<void> {
    const existing = this.records.get(STORE_TOPIC + name)?.value as TopicRecord | undefined;
    if (existing) {
      await this.run(() => this.records.put(STORE_TOPIC + name, { ...existing, config: { ...config, partitions: existing.config.partitions } }));
      return;
    }
    // A new Kafka topic per incarnation: Kafka deletes topics asynchronously, and a topic created
    // again under the same name must not see the old messages.
    const kafkaTopic = `${this.settings.prefix}.${name}.${Date.now().toString(36)}`;
    await this.run(async () => {
      const configs: Record<string, string> = { 'retention.ms': String(config.retentionMs > 0 ? config.retentionMs : -1), 'retention.bytes': String(config.retentionBytes > 0 ? config.retentionBytes : -1) };
      await this.createKafkaTopic(kafkaTopic, Math.max(1, config.partitions), configs);
      const partitions = (await this.partitionLog.partitions(kafkaTopic)).length;
      await this.records.put(STORE_TOPIC + name, { kafkaTopic, config: { ...config, partitions } } satisfies TopicRecord);
    });
  }

  async deleteTopic(name: string): Promise<void> {
    const record = this.records.get(STORE_TOPIC + name)?.value as TopicRecord | undefined;
    if (!record) return;
    await this.run(() => this.records.put(STORE_TOPIC + name, undefined));
    if (!(await this.partitionLog.deleteTopic(record.kafkaTopic))) {
      this.log.info({ event: 'topics.kafka.delete_topic_refused', topic: record.kafkaTopic }, 'the kafka cluster refused DeleteTopics; the forgotten topic stays until removed by hand');
    }
  }

  private encode(body: StoredBody): string {
    return JSON.stringify(body);
  }

  private decode(partition: number, record: { offset: string | number; timestamp: string | number; value: Buffer | null }): TopicMessage | undefined {
    return this.decodeWithSeq(partition, record)?.message;
  }

  private decodeWithSeq(partition: number, record: { offset: string | number; timestamp: string | number; value: Buffer | null }): { message: TopicMessage; seq: number } | undefined {
    if (!record.value) return undefined;
    try {
      const { seq, ...body } = JSON.parse(record.value.toString('utf8')) as StoredBody;
      return { message: { ...body, position: `${partition}:${record.offset}`, publishTime: Number(record.timestamp) }, seq: seq ?? 0 };
    } catch {
      this.log.warn({ event: 'topics.kafka.malformed_record', partition, offset: record.offset }, 'skipped a kafka record that is not a stored message');
      return undefined;
    }
  }

  async append(topic: string, messages: NewTopicMessage[]): Promise<AppendResult[]> {
    const record = await this.topicRecord(topic);
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
        } else results[index] = await this.duplicateOf(claimKey);
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
          messages: toSend.map((s, i) => ({ partition: partitionOf[i]!, key: s.orderingKey ?? null, value: this.encode(s.body), timestamp: String(now) })),
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

  private async readPartition(kafkaTopic: string, partition: number, from: number, to: number): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    let offset = from;
    while (offset < to) {
      const records = await this.partitionLog.fetch(kafkaTopic, partition, offset, { maxWaitMs: 0 });
      if (records.length === 0) break;
      for (const r of records) if (r.offset < to) out.push(r);
      offset = records[records.length - 1]!.offset + 1;
    }
    return out;
  }

  private async duplicateOf(claimKey: string): Promise<AppendResult> {
    const deadline = Date.now() + CLAIM_WAIT_MS;
    for (;;) {
      const claim = this.claims.get(claimKey)?.value;
      if (claim?.position) return { id: claim.id, position: claim.position, duplicate: true };
      if (Date.now() >= deadline) throw new Error(`the first publisher of idempotency key ${claimKey} did not finish storing its message`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Start offsets per partition for a target: the end of each partition (no target), a position or a time. */
  private async startOffsets(kafkaTopic: string, target: SeekTarget | undefined): Promise<Map<number, number>> {
    const ranges = await this.partitionLog.ranges(kafkaTopic);
    const offsets = new Map<number, number>();
    const at = target && 'position' in target ? parsePosition(target.position) : undefined;
    for (const range of ranges) {
      if (!target) offsets.set(range.partition, range.high);
      else if ('time' in target) offsets.set(range.partition, await this.partitionLog.offsetForTime(kafkaTopic, range, target.time));
      // A position names one partition's record; the others are replayed from the first record
      // published at or after it, which is what "everything after it" means across partitions.
      else if (range.partition === at!.partition) offsets.set(range.partition, Math.min(Math.max(at!.offset, range.low), range.high));
    }
    if (at) {
      const [record] = await this.partitionLog.fetch(kafkaTopic, at.partition, at.offset, { maxWaitMs: 0, maxBytes: 64 * 1024 });
      for (const range of ranges) {
        if (range.partition === at.partition) continue;
        offsets.set(range.partition, record ? await this.partitionLog.offsetForTime(kafkaTopic, range, record.timestamp) : range.high);
      }
    }
    return offsets;
  }

  async read(topic: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    const record = await this.topicRecord(topic);
    return this.run(async () => {
      const starts = opts.from ? await this.startOffsets(record.kafkaTopic, opts.from) : undefined;
      const ranges = await this.partitionLog.ranges(record.kafkaTopic);
      const cutoff = record.config.retentionMs > 0 ? Date.now() - record.config.retentionMs : -Infinity;
      // From a position, records of other partitions count when published after it.
      const at = opts.from && 'position' in opts.from ? parsePosition(opts.from.position) : undefined;
      const [atRecord] = at ? await this.partitionLog.fetch(record.kafkaTopic, at.partition, at.offset, { maxWaitMs: 0, maxBytes: 64 * 1024 }) : [];
      const after = atRecord ? this.decodeWithSeq(at!.partition, atRecord) : undefined;
      const before = (d: { message: TopicMessage; seq: number }, mark: { message: TopicMessage; seq: number }) =>
        d.message.publishTime < mark.message.publishTime || (d.message.publishTime === mark.message.publishTime && d.seq < mark.seq);
      const all: { message: TopicMessage; seq: number }[] = [];
      for (const range of ranges) {
        const from = Math.max(range.low, starts?.get(range.partition) ?? range.low);
        const records = await this.readPartition(record.kafkaTopic, range.partition, from, Math.min(range.high, from + opts.limit * 4 + 100));
        let taken = 0;
        for (const r of records) {
          const decoded = this.decodeWithSeq(range.partition, r);
          if (!decoded || decoded.message.publishTime < cutoff || (after && before(decoded, after))) continue;
          all.push(decoded);
          if (++taken >= opts.limit) break;
        }
      }
      // Log order across partitions: by publish time, then by the publishing process's sequence.
      all.sort((a, b) => a.message.publishTime - b.message.publishTime || a.seq - b.seq);
      return all.slice(0, opts.limit).map((d) => d.message);
    });
  }

  async ensureSubscription(name: string, config: SubscriptionConfig): Promise<void> {
    const topic = await this.topicRecord(config.topic);
    const existing = this.records.get(STORE_SUBSCRIPTION + name)?.value as SubscriptionRecord | undefined;
    if (existing) {
      await this.run(() => this.records.put(STORE_SUBSCRIPTION + name, { ...existing, config } satisfies SubscriptionRecord));
      this.consumers.get(name)?.updateConfig(config);
      return;
    }
    const record: SubscriptionRecord = { config, kafkaTopic: topic.kafkaTopic, groupId: this.groupId(name) };
    await this.run(async () => {
      await this.partitionLog.commitAsOutsider(record.groupId, record.kafkaTopic, await this.startOffsets(record.kafkaTopic, undefined));
      await this.records.put(STORE_SUBSCRIPTION + name, record);
    });
    // Join now, so this node already holds partitions when the first messages arrive.
    await this.consumer(name, record);
  }

  private groupId(name: string): string {
    return `${this.settings.prefix}.${name}.${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
  }

  async deleteSubscription(name: string): Promise<void> {
    if (!this.records.get(STORE_SUBSCRIPTION + name)) return;
    await this.run(() => this.records.put(STORE_SUBSCRIPTION + name, undefined));
    await this.stopConsumer(name);
  }

  /** Another node (or this one) changed a record: a consumer of a deleted or re-sought subscription stops. */
  private recordChanged(key: string): void {
    if (!key.startsWith(STORE_SUBSCRIPTION)) return;
    const name = key.slice(STORE_SUBSCRIPTION.length);
    const record = this.records.get(key)?.value as SubscriptionRecord | undefined;
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
      decode: (partition: number, message: KafkaMessage) => this.decode(partition, message),
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
      const record = await this.subscriptionRecord(name);
      const consumer = await this.consumer(name, record);
      const got = await this.take(name, record, consumer, opts.maxMessages);
      const left = deadline - Date.now();
      if (got.length > 0 || left <= 0 || opts.signal?.aborted || !this.started) return got;
      await this.waiters.wait(record.config.topic, Math.min(left, consumer.nextDueIn()), opts.signal);
    }
  }

  private async take(name: string, record: SubscriptionRecord, consumer: KafkaSubscriptionConsumer, max: number): Promise<ReceivedMessage[]> {
    const topic = this.records.get(STORE_TOPIC + record.config.topic)?.value as TopicRecord | undefined;
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
    const record = await this.subscriptionRecord(name);
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
    const record = await this.subscriptionRecord(name);
    const next: SubscriptionRecord = { ...record, groupId: this.groupId(name) };
    await this.run(async () => {
      await this.partitionLog.commitAsOutsider(next.groupId, next.kafkaTopic, await this.startOffsets(next.kafkaTopic, target));
      await this.records.put(STORE_SUBSCRIPTION + name, next);
    });
    await this.consumer(name, next);
  }

  async subscriptionStats(name: string): Promise<SubscriptionStats> {
    const record = await this.subscriptionRecord(name);
    const topic = this.records.get(STORE_TOPIC + record.config.topic)?.value as TopicRecord | undefined;
    if (!topic) return { unacked: 0, oldestUnackedAgeMs: 0 };
    return this.run(async () => {
      const [ranges, committed] = await Promise.all([this.partitionLog.ranges(record.kafkaTopic), this.partitionLog.groupOffsets(record.groupId, record.kafkaTopic)]);
      const consumer = this.consumers.get(name);
      const acked = consumer?.groupId === record.groupId ? consumer.ackedAboveCommit() : new Map<number, number>();
      let unacked = 0;
      let oldest = Infinity;
      for (const range of ranges) {
        const from = Math.max(range.low, committed.get(range.partition) ?? range.low);
        const behind = range.high - from - (acked.get(range.partition) ?? 0);
        if (behind <= 0) continue;
        unacked += behind;
        const [first] = await this.partitionLog.fetch(record.kafkaTopic, range.partition, from, { maxWaitMs: 0, maxBytes: 64 * 1024 });
        if (first) oldest = Math.min(oldest, first.timestamp);
      }
      return { unacked, oldestUnackedAgeMs: oldest === Infinity ? 0 : Math.max(0, Date.now() - oldest) };
    });
  }

  /** Messages from Kafka's offsets; bytes estimated from the newest record of each partition. */
  async topicStats(name: string): Promise<TopicStats> {
    const record = await this.topicRecord(name);
    return this.run(async () => {
      let messages = 0;
      let bytes = 0;
      for (const range of await this.partitionLog.ranges(record.kafkaTopic)) {
        const count = range.high - range.low;
        if (count <= 0) continue;
        messages += count;
        const [last] = await this.partitionLog.fetch(record.kafkaTopic, range.partition, range.high - 1, { maxWaitMs: 0, maxBytes: 64 * 1024 });
        bytes += count * (last ? (last.value?.length ?? 0) + (last.key?.length ?? 0) : 0);
      }
      return { messages, bytes };
    });
  }
}
