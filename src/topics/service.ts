import { LRUCache } from 'lru-cache';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { parseDuration } from '../config/values.js';
import { SwitchboardError, asSwitchboardError } from '../errors.js';
import { Applications, applicationCacheMs } from './applications.js';
import { resourceNamePattern, type Quotas } from './config.js';
import { TopicMetrics } from './metrics.js';
import { PushDeliverer } from './push.js';
import type { TargetPolicy } from '../outbound/targets.js';
import { BatchOverQuota, PublishQuotas, QuotaExceeded } from './quotas.js';
import { deadLetterAttributes, type AckOutcome, type AppendResult, type NewTopicMessage, type PushConfig, type ReceivedMessage, type SeekTarget, type SubscriptionStats, type TopicMessage, type TopicStore } from './store.js';
import { replayDeadLetters } from './replay.js';

export type TopicsConfig = Config['topics'];

/** A topic as TopicService keeps it (metadata kind `topic`, id `<application>-<name>`). */
export interface TopicRecord {
  application: string;
  name: string;
  retentionMs: number;
  retentionBytes: number;
  partitions: number;
  /** Applications that may subscribe to this topic besides its owner. */
  grants: string[];
  createdAt: number;
}

/** A subscription as TopicService keeps it (metadata kind `subscription`, id `<application>-<name>`). */
export interface SubscriptionRecord {
  application: string;
  name: string;
  /** The topic it reads, possibly another application's (with a grant). */
  topic: { application: string; name: string };
  ackDeadlineMs: number;
  maxDeliveryAttempts: number;
  /** A topic of the subscription's application receiving messages that ran out of attempts. */
  deadLetterTopic?: string;
  ordered: boolean;
  push?: PushConfig;
  createdAt: number;
}

export interface TopicOptions {
  retentionMs?: number;
  retentionBytes?: number;
  partitions?: number;
}

export interface SubscriptionOptions {
  /** The topic: a name of the subscription's application, or `<application>/<name>` of another one that granted access. */
  topic: string;
  ackDeadlineMs?: number;
  maxDeliveryAttempts?: number;
  deadLetterTopic?: string;
  ordered?: boolean;
  push?: PushConfig;
}

/** One message to publish. `deliverAt` (ms since the epoch) and `delayMs` are exclusive. */
export interface PublishInput {
  data: unknown;
  attributes?: Record<string, string>;
  orderingKey?: string;
  idempotencyKey?: string;
  deliverAt?: number;
  delayMs?: number;
}

/** Per message: where it was stored, or why it was refused (the others still land). */
export type PublishOutcome = ({ ok: true } & AppendResult) | { ok: false; error: SwitchboardError };


/** `<application>-<name>`: the store's name for a topic or subscription (application ids have no `-`). */
export function storeName(application: string, name: string): string {
  return `${application}-${name}`;
}

function checkName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || !resourceNamePattern.test(name)) throw new SwitchboardError('bad_request', `a ${kind} name matches ${resourceNamePattern.source}`);
  return name;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

/**
 * Durable topics for the HTTP API, push delivery and Switchboard's own features (routing's durable
 * queues): applications, topics, subscriptions, publish with quotas, pull/ack/nack/extend/seek and
 * statistics on top of one TopicStore. Callers are trusted: authorisation is the HTTP layer's job.
 */
export class TopicService {
  readonly applications: Applications;
  readonly metrics: TopicMetrics;
  private readonly quotas = new PublishQuotas();
  /** Topic records publish reads, trusted for applicationCacheMs (a deleted topic fails at the store anyway), at most topics.cacheEntries. */
  private readonly topicCache: LRUCache<string, TopicRecord>;
  private readonly push: PushDeliverer;

  constructor(
    readonly store: TopicStore,
    readonly config: TopicsConfig,
    registry: Registry,
    private readonly log: Logger,
    private readonly targets: TargetPolicy,
  ) {
    this.applications = new Applications(store.metadata, { maxEntries: config.cacheEntries });
    this.topicCache = new LRUCache({ max: config.cacheEntries, ttl: applicationCacheMs });
    this.metrics = new TopicMetrics(registry, () => this.allBacklogs(), () => ({ applications: this.applications.cachedEntries, topics: this.cachedTopics }));
    this.push = new PushDeliverer(this, config.push, this.metrics, log, targets);
  }

  async start(): Promise<void> {
    const label = (sub: string) => sub.replace('-', '/');
    await this.store.start({
      redelivered: (sub) => this.metrics.onRedelivered(label(sub)),
      deadLettered: (sub, _topic, message, attempts) => {
        this.metrics.onDeadLettered(label(sub));
        this.log.warn({ event: 'topics.dead_lettered', subscription: label(sub), message: message.id, attempts }, 'message ran out of delivery attempts');
      },
    });
    await this.applications.seed(this.config.applications);
    this.push.start();
  }

  async stop(): Promise<void> {
    await this.push.stop();
    await this.store.close();
  }

  quotasOf(app: { quotas: Partial<Quotas> }): Quotas {
    return { ...this.config.quotas, ...app.quotas };
  }

  /** Creates an application without keys unless it exists (for Switchboard's own use, e.g. routing). */
  async ensureApplication(id: string): Promise<void> {
    await this.applications.ensure(id);
  }

  /** Deletes an application with its topics and subscriptions. */
  async deleteApplication(id: string): Promise<void> {
    await this.applications.require(id);
    for (const sub of await this.listSubscriptions(id)) await this.deleteSubscription(id, sub.name);
    for (const topic of await this.listTopics(id)) await this.deleteTopic(id, topic.name);
    await this.applications.remove(id);
    this.quotas.forget(id);
  }

  // Topics

  async getTopic(application: string, name: string): Promise<TopicRecord> {
    const topic = await this.store.metadata.get<TopicRecord>('topic', storeName(application, name));
    if (!topic) throw new SwitchboardError('not_found', `no topic ${application}/${name}`);
    return topic;
  }

  async listTopics(application: string): Promise<TopicRecord[]> {
    return (await this.store.metadata.list<TopicRecord>('topic')).filter((t) => t.application === application).sort((a, b) => a.name.localeCompare(b.name));
  }

  private topicSettings(options: TopicOptions, base?: TopicRecord): Pick<TopicRecord, 'retentionMs' | 'retentionBytes' | 'partitions'> {
    const retentionMs = options.retentionMs ?? base?.retentionMs ?? this.config.retention;
    const retentionBytes = options.retentionBytes ?? base?.retentionBytes ?? this.config.retentionBytes;
    const partitions = options.partitions ?? base?.partitions ?? 1;
    for (const [key, value] of Object.entries({ retentionMs, retentionBytes, partitions })) {
      if (!Number.isSafeInteger(value) || value < (key === 'partitions' ? 1 : 0)) throw new SwitchboardError('bad_request', `${key} must be a whole number${key === 'partitions' ? ' of at least 1' : ' (0: no limit)'}`);
    }
    if (retentionMs === 0 && retentionBytes === 0) throw new SwitchboardError('bad_request', 'a topic needs a retention time or size (or both)');
    return { retentionMs, retentionBytes, partitions };
  }

  /** Creates a topic; 409 limit_exceeded when it exists or the application is at its topic quota. */
  async createTopic(application: string, name: string, options: TopicOptions = {}): Promise<TopicRecord> {
    checkName('topic', name);
    const app = await this.applications.require(application);
    const settings = this.topicSettings(options);
    const owned = await this.listTopics(application);
    if (owned.some((t) => t.name === name)) throw new SwitchboardError('limit_exceeded', `topic ${application}/${name} exists`);
    const { maxTopics } = this.quotasOf(app);
    if (owned.length >= maxTopics) {
      this.metrics.onQuotaHit(application, 'topics');
      throw new SwitchboardError('limit_exceeded', `application ${application} has its ${maxTopics} topics (quota maxTopics)`);
    }
    const record: TopicRecord = { application, name, ...settings, grants: [], createdAt: Date.now() };
    await this.store.ensureTopic(storeName(application, name), { retentionMs: record.retentionMs, retentionBytes: record.retentionBytes, partitions: record.partitions });
    if (!(await this.store.metadata.put('topic', storeName(application, name), record, { ifAbsent: true }))) {
      throw new SwitchboardError('limit_exceeded', `topic ${application}/${name} exists`);
    }
    return record;
  }

  /** The topic, created with these options when it does not exist yet. */
  async ensureTopic(application: string, name: string, options: TopicOptions = {}): Promise<TopicRecord> {
    const existing = await this.store.metadata.get<TopicRecord>('topic', storeName(application, name));
    if (existing) return existing;
    return this.createTopic(application, name, options).catch(async (err: unknown) => {
      const raced = await this.store.metadata.get<TopicRecord>('topic', storeName(application, name));
      if (raced) return raced;
      throw err;
    });
  }

  async updateTopic(application: string, name: string, options: TopicOptions): Promise<TopicRecord> {
    const topic = await this.getTopic(application, name);
    const updated = { ...topic, ...this.topicSettings(options, topic) };
    await this.store.ensureTopic(storeName(application, name), { retentionMs: updated.retentionMs, retentionBytes: updated.retentionBytes, partitions: updated.partitions });
    await this.store.metadata.put('topic', storeName(application, name), updated);
    this.topicCache.delete(storeName(application, name));
    return updated;
  }

  /** Deletes a topic, every subscription on it and its messages. */
  async deleteTopic(application: string, name: string): Promise<void> {
    await this.getTopic(application, name);
    const subs = (await this.store.metadata.list<SubscriptionRecord>('subscription')).filter((s) => s.topic.application === application && s.topic.name === name);
    for (const sub of subs) await this.deleteSubscription(sub.application, sub.name);
    await this.store.deleteTopic(storeName(application, name));
    await this.store.metadata.delete('topic', storeName(application, name));
    this.topicCache.delete(storeName(application, name));
  }

  async grant(application: string, name: string, grantee: string, allow: boolean): Promise<TopicRecord> {
    const topic = await this.getTopic(application, name);
    if (allow) await this.applications.require(grantee);
    topic.grants = allow ? [...new Set([...topic.grants, grantee])] : topic.grants.filter((g) => g !== grantee);
    await this.store.metadata.put('topic', storeName(application, name), topic);
    return topic;
  }

  async topicStats(application: string, name: string): Promise<{ messages: number; bytes: number }> {
    await this.getTopic(application, name);
    return this.store.topicStats(storeName(application, name));
  }

  /** Retained messages of a topic in log order (a dead-letter topic's listing, inspection). */
  async readTopic(application: string, name: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    await this.getTopic(application, name);
    return this.store.read(storeName(application, name), opts);
  }

  // Publishing

  /** Checks one message against the application's limits; returns what the store takes and its size. */
  private prepare(input: unknown, maxMessageBytes: number, retentionMs: number, now: number): { message: NewTopicMessage; bytes: number } {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new SwitchboardError('bad_request', 'a message is an object {data, attributes?, orderingKey?, idempotencyKey?, deliverAt? | delay?}');
    const m = input as Record<string, unknown>;
    if (m.data === undefined) throw new SwitchboardError('bad_request', 'a message needs data');
    const message: NewTopicMessage = { data: m.data };
    if (m.attributes !== undefined) {
      if (!isStringMap(m.attributes)) throw new SwitchboardError('bad_request', 'attributes must be an object of string values');
      const entries = Object.entries(m.attributes);
      const { maxAttributes, maxAttributeKeyBytes, maxAttributeValueBytes } = this.config;
      if (entries.length > maxAttributes) throw new SwitchboardError('bad_request', `a message has at most ${maxAttributes} attributes (topics.maxAttributes)`);
      for (const [k, v] of entries) {
        if (k === '' || Buffer.byteLength(k) > maxAttributeKeyBytes) throw new SwitchboardError('bad_request', `attribute keys are 1-${maxAttributeKeyBytes} bytes (topics.maxAttributeKeyBytes)`);
        if (Buffer.byteLength(v) > maxAttributeValueBytes) throw new SwitchboardError('bad_request', `attribute values are at most ${maxAttributeValueBytes} bytes (topics.maxAttributeValueBytes)`);
        if (k.startsWith('sb-')) throw new SwitchboardError('bad_request', 'attribute keys starting with sb- are reserved');
      }
      message.attributes = m.attributes;
    }
    for (const key of ['orderingKey', 'idempotencyKey'] as const) {
      const value = m[key];
      if (value === undefined) continue;
      const { maxKeyBytes } = this.config;
      if (typeof value !== 'string' || value === '' || Buffer.byteLength(value) > maxKeyBytes) throw new SwitchboardError('bad_request', `${key} must be a string of 1-${maxKeyBytes} bytes (topics.maxKeyBytes)`);
      message[key] = value;
    }
    if (m.deliverAt !== undefined && (m.delay !== undefined || m.delayMs !== undefined)) throw new SwitchboardError('bad_request', 'give deliverAt or delay, not both');
    const deliverAt = m.deliverAt !== undefined ? parseTime(m.deliverAt, 'deliverAt') : m.delayMs !== undefined || m.delay !== undefined ? now + parseDelay(m.delayMs ?? m.delay) : undefined;
    if (deliverAt !== undefined && deliverAt > now) {
      if (retentionMs > 0 && deliverAt - now >= retentionMs) throw new SwitchboardError('bad_request', 'the delivery time is beyond the topic\'s retention');
      message.deliverAt = deliverAt;
    }
    const bytes = Buffer.byteLength(JSON.stringify([message.data, message.attributes ?? null, message.orderingKey ?? null]));
    if (bytes > maxMessageBytes) throw new SwitchboardError('too_large', `a message is at most ${maxMessageBytes} bytes (data, attributes and ordering key as JSON)`);
    return { message, bytes };
  }

  /**
   * Publishes messages to a topic in order and answers once the store confirmed every write.
   * Malformed or oversized messages get their own error; the rest land. Over the application's
   * rate quota the whole call throws QuotaExceeded (429, with seconds to wait) and nothing lands;
   * a call larger than one second of a rate quota throws BatchOverQuota (413) and nothing lands.
   */
  async publish(application: string, topicName: string, inputs: unknown[]): Promise<PublishOutcome[]> {
    if (inputs.length > this.config.maxBatchSize) {
      this.metrics.onPublishRejected('batch_too_large');
      throw new SwitchboardError('too_large', `a publish holds at most ${this.config.maxBatchSize} messages (topics.maxBatchSize)`);
    }
    const app = await this.applications.require(application);
    const topic = await this.cachedTopic(application, topicName);
    const quotas = this.quotasOf(app);
    const now = Date.now();
    const outcomes: (PublishOutcome | undefined)[] = [];
    const accepted: { index: number; message: NewTopicMessage }[] = [];
    let bytes = 0;
    inputs.forEach((input, index) => {
      try {
        const prepared = this.prepare(input, quotas.maxMessageBytes, topic.retentionMs, now);
        accepted.push({ index, message: prepared.message });
        bytes += prepared.bytes;
        outcomes.push(undefined);
      } catch (err) {
        const error = asSwitchboardError(err);
        this.metrics.onPublishRejected(error.code === 'too_large' ? 'too_large' : 'bad_request');
        outcomes.push({ ok: false, error });
      }
    });
    if (accepted.length > 0) {
      try {
        this.quotas.take(application, quotas, accepted.length, bytes);
      } catch (err) {
        if (err instanceof QuotaExceeded || err instanceof BatchOverQuota) {
          this.metrics.onQuotaHit(application, err.quota);
          this.metrics.onPublishRejected(err instanceof QuotaExceeded ? 'rate_limited' : 'too_large', accepted.length);
        }
        throw err;
      }
      const results = await this.store.append(storeName(application, topicName), accepted.map((a) => a.message)).catch((err: unknown) => {
        this.metrics.onPublishRejected(err instanceof SwitchboardError && err.code === 'not_found' ? 'not_found' : 'unavailable', accepted.length);
        throw err;
      });
      accepted.forEach((a, i) => (outcomes[a.index] = { ok: true, ...results[i]! }));
      this.metrics.onPublished(application, topicName, results.filter((r) => !r.duplicate).length);
    }
    return outcomes as PublishOutcome[];
  }

  private async cachedTopic(application: string, name: string): Promise<TopicRecord> {
    const key = storeName(application, name);
    const cached = this.topicCache.get(key);
    if (cached) return cached;
    const topic = await this.getTopic(application, name);
    this.topicCache.set(key, topic);
    return topic;
  }

  /** Topic records cached for publishing now. */
  get cachedTopics(): number {
    return this.topicCache.size;
  }

  // Subscriptions

  async getSubscription(application: string, name: string): Promise<SubscriptionRecord> {
    const sub = await this.store.metadata.get<SubscriptionRecord>('subscription', storeName(application, name));
    if (!sub) throw new SwitchboardError('not_found', `no subscription ${application}/${name}`);
    return sub;
  }

  async listSubscriptions(application: string): Promise<SubscriptionRecord[]> {
    return (await this.store.metadata.list<SubscriptionRecord>('subscription')).filter((s) => s.application === application).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every subscription of every application (push delivery, metrics). */
  allSubscriptions(): Promise<SubscriptionRecord[]> {
    return this.store.metadata.list<SubscriptionRecord>('subscription');
  }

  private async settings(application: string, options: Partial<SubscriptionOptions>, base?: SubscriptionRecord): Promise<Omit<SubscriptionRecord, 'application' | 'name' | 'createdAt'>> {
    let topic = base?.topic;
    if (!base) {
      if (typeof options.topic !== 'string') throw new SwitchboardError('bad_request', 'a subscription needs a topic (a name, or application/name)');
      const [owner, name] = options.topic.includes('/') ? (options.topic.split('/', 2) as [string, string]) : [application, options.topic];
      const record = await this.getTopic(owner, name);
      if (owner !== application && !record.grants.includes(application)) throw new SwitchboardError('forbidden', `application ${owner} has not granted ${application} subscribe rights on topic ${name}`);
      topic = { application: owner, name };
    } else if (options.topic !== undefined && options.topic !== `${base.topic.application}/${base.topic.name}` && options.topic !== base.topic.name) {
      throw new SwitchboardError('bad_request', 'a subscription cannot move to another topic; create a new one');
    }
    const ackDeadlineMs = options.ackDeadlineMs ?? base?.ackDeadlineMs ?? this.config.ackDeadline;
    if (!Number.isSafeInteger(ackDeadlineMs) || ackDeadlineMs < 100 || ackDeadlineMs > this.config.maxAckDeadline) {
      throw new SwitchboardError('bad_request', `ackDeadlineMs is between 100 and ${this.config.maxAckDeadline} (topics.maxAckDeadline)`);
    }
    const maxDeliveryAttempts = options.maxDeliveryAttempts ?? base?.maxDeliveryAttempts ?? this.config.maxDeliveryAttempts;
    if (!Number.isSafeInteger(maxDeliveryAttempts) || maxDeliveryAttempts < 0 || maxDeliveryAttempts > 1000) throw new SwitchboardError('bad_request', 'maxDeliveryAttempts is between 0 (unlimited) and 1000');
    const deadLetterTopic = options.deadLetterTopic !== undefined ? options.deadLetterTopic || undefined : base?.deadLetterTopic;
    if (deadLetterTopic !== undefined) await this.getTopic(application, checkName('topic', deadLetterTopic));
    const ordered = options.ordered ?? base?.ordered ?? false;
    if (typeof ordered !== 'boolean') throw new SwitchboardError('bad_request', 'ordered is true or false');
    const push = options.push !== undefined ? (options.push ?? undefined) : base?.push;
    if (push !== undefined) checkPush(push);
    // A tenant's endpoint may not reach the node's own network (checked again on every connection).
    if (options.push) await this.targets.check(options.push.endpoint, 'push');
    return {
      topic: topic!,
      ackDeadlineMs,
      maxDeliveryAttempts,
      ordered,
      ...(deadLetterTopic !== undefined && { deadLetterTopic }),
      ...(push !== undefined && { push }),
    };
  }

  private storeConfig(record: SubscriptionRecord) {
    return {
      topic: storeName(record.topic.application, record.topic.name),
      ackDeadlineMs: record.ackDeadlineMs,
      maxDeliveryAttempts: record.maxDeliveryAttempts,
      ordered: record.ordered,
      ...(record.deadLetterTopic !== undefined && { deadLetterTopic: storeName(record.application, record.deadLetterTopic) }),
      ...(record.push !== undefined && { push: record.push }),
    };
  }

  /** Creates a subscription receiving what its topic gets from now on; 409 when it exists or over quota. */
  async createSubscription(application: string, name: string, options: SubscriptionOptions): Promise<SubscriptionRecord> {
    checkName('subscription', name);
    const app = await this.applications.require(application);
    const owned = await this.listSubscriptions(application);
    if (owned.some((s) => s.name === name)) throw new SwitchboardError('limit_exceeded', `subscription ${application}/${name} exists`);
    const { maxSubscriptions } = this.quotasOf(app);
    if (owned.length >= maxSubscriptions) {
      this.metrics.onQuotaHit(application, 'subscriptions');
      throw new SwitchboardError('limit_exceeded', `application ${application} has its ${maxSubscriptions} subscriptions (quota maxSubscriptions)`);
    }
    const record: SubscriptionRecord = { application, name, ...(await this.settings(application, options)), createdAt: Date.now() };
    if (!(await this.store.metadata.put('subscription', storeName(application, name), record, { ifAbsent: true }))) {
      throw new SwitchboardError('limit_exceeded', `subscription ${application}/${name} exists`);
    }
    await this.store.ensureSubscription(storeName(application, name), this.storeConfig(record)).catch(async (err: unknown) => {
      await this.store.metadata.delete('subscription', storeName(application, name));
      throw err;
    });
    if (record.push) this.push.refresh();
    return record;
  }

  /** The subscription, created with these options when it does not exist yet. */
  async ensureSubscription(application: string, name: string, options: SubscriptionOptions): Promise<SubscriptionRecord> {
    const existing = await this.store.metadata.get<SubscriptionRecord>('subscription', storeName(application, name));
    if (existing) return existing;
    return this.createSubscription(application, name, options).catch(async (err: unknown) => {
      const raced = await this.store.metadata.get<SubscriptionRecord>('subscription', storeName(application, name));
      if (raced) return raced;
      throw err;
    });
  }

  async updateSubscription(application: string, name: string, options: Partial<SubscriptionOptions>): Promise<SubscriptionRecord> {
    const base = await this.getSubscription(application, name);
    const updated: SubscriptionRecord = { ...base, ...(await this.settings(application, options, base)) };
    if (options.deadLetterTopic === '') delete updated.deadLetterTopic;
    if (options.push === null) delete updated.push;
    await this.store.ensureSubscription(storeName(application, name), this.storeConfig(updated));
    await this.store.metadata.put('subscription', storeName(application, name), updated);
    if (updated.push || base.push) this.push.refresh();
    return updated;
  }

  async deleteSubscription(application: string, name: string): Promise<void> {
    await this.getSubscription(application, name);
    await this.store.deleteSubscription(storeName(application, name));
    await this.store.metadata.delete('subscription', storeName(application, name));
  }

  // Delivery

  /** Pulls up to maxMessages, waiting up to waitMs for the first; each comes with an ack id and its attempt number. */
  async pull(application: string, name: string, opts: { maxMessages: number; waitMs: number; signal?: AbortSignal }): Promise<ReceivedMessage[]> {
    if (!Number.isSafeInteger(opts.maxMessages) || opts.maxMessages < 1 || opts.maxMessages > this.config.maxPullMessages) {
      throw new SwitchboardError('bad_request', `maxMessages is between 1 and ${this.config.maxPullMessages} (topics.maxPullMessages)`);
    }
    if (!Number.isFinite(opts.waitMs) || opts.waitMs < 0 || opts.waitMs > this.config.maxPullWait) {
      throw new SwitchboardError('bad_request', `waitMs is between 0 and ${this.config.maxPullWait} (topics.maxPullWait)`);
    }
    const sub = await this.readable(application, name);
    const received = await this.store.pull(storeName(application, name), opts).catch(notFoundAs(application, name));
    if (received.length > 0 && sub.topic.application !== application) {
      // The grant may have been taken back while the pull waited: what came meanwhile goes back.
      try {
        await this.checkGrant(sub);
      } catch (err) {
        await this.store.nack(storeName(application, name), received.map((r) => r.ackId), 0).catch(() => {});
        throw err;
      }
    }
    return received;
  }

  /**
   * The subscription, once its application is found to still hold the right to read its topic:
   * the topic's owner may take a grant back at any time, and that must cut off every pull, ack and
   * seek at once, on every node. The grant is read from the store's metadata on each call (no
   * cache), so a revocation through any node holds on the next call everywhere.
   */
  private async readable(application: string, name: string): Promise<SubscriptionRecord> {
    const sub = await this.getSubscription(application, name);
    await this.checkGrant(sub);
    return sub;
  }

  private async checkGrant(sub: SubscriptionRecord): Promise<void> {
    const { application, name } = sub.topic;
    if (application === sub.application) return;
    const topic = await this.store.metadata.get<TopicRecord>('topic', storeName(application, name));
    if (topic && !topic.grants.includes(sub.application)) {
      throw new SwitchboardError('forbidden', `application ${application} has taken back the grant of ${sub.application} on topic ${name}`);
    }
  }

  private ackIds(ackIds: unknown): string[] {
    if (!Array.isArray(ackIds) || ackIds.length === 0 || !ackIds.every((id) => typeof id === 'string')) throw new SwitchboardError('bad_request', 'ackIds must be a non-empty list of strings');
    if (ackIds.length > this.config.maxPullMessages) throw new SwitchboardError('too_large', `at most ${this.config.maxPullMessages} ack ids per call`);
    return ackIds;
  }

  /** Acknowledges deliveries; per ack id 'ok', 'unknown' or 'expired'. */
  async ack(application: string, name: string, ackIds: unknown): Promise<AckOutcome[]> {
    const ids = this.ackIds(ackIds);
    await this.readable(application, name);
    const outcomes = await this.store.ack(storeName(application, name), ids).catch(notFoundAs(application, name));
    this.metrics.onAcked(`${application}/${name}`, outcomes.filter((o) => o === 'ok').length);
    return outcomes;
  }

  /** Gives deliveries back, to be delivered again no earlier than delayMs from now. */
  async nack(application: string, name: string, ackIds: unknown, delayMs = 0): Promise<AckOutcome[]> {
    if (!Number.isSafeInteger(delayMs) || delayMs < 0 || delayMs > this.config.maxAckDeadline) throw new SwitchboardError('bad_request', `delayMs is between 0 and ${this.config.maxAckDeadline} (topics.maxAckDeadline)`);
    const ids = this.ackIds(ackIds);
    await this.readable(application, name);
    return this.store.nack(storeName(application, name), ids, delayMs).catch(notFoundAs(application, name));
  }

  /** Pub/Sub's modifyAckDeadline: 0 gives the messages back now, more extends their deadline. */
  async modifyDeadline(application: string, name: string, ackIds: unknown, deadlineMs: number): Promise<AckOutcome[]> {
    if (!Number.isSafeInteger(deadlineMs) || deadlineMs < 0 || deadlineMs > this.config.maxAckDeadline) throw new SwitchboardError('bad_request', `deadlineMs is between 0 and ${this.config.maxAckDeadline} (topics.maxAckDeadline)`);
    if (deadlineMs === 0) return this.nack(application, name, ackIds, 0);
    const ids = this.ackIds(ackIds);
    await this.readable(application, name);
    return this.store.extend(storeName(application, name), ids, deadlineMs).catch(notFoundAs(application, name));
  }

  /** Replays from a time or position (or skips ahead); outstanding ack ids become unknown. */
  async seek(application: string, name: string, target: SeekTarget): Promise<void> {
    await this.readable(application, name);
    await this.store.seek(storeName(application, name), target);
  }

  async subscriptionStats(application: string, name: string): Promise<SubscriptionStats> {
    await this.getSubscription(application, name);
    return this.store.subscriptionStats(storeName(application, name));
  }

  /** The messages that ran out of attempts on this subscription: its dead-letter topic's content. */
  async deadLetters(application: string, name: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    const sub = await this.getSubscription(application, name);
    if (!sub.deadLetterTopic) throw new SwitchboardError('not_found', `subscription ${application}/${name} has no dead-letter topic`);
    return this.readTopic(application, sub.deadLetterTopic, opts);
  }

  /**
   * Publishes this subscription's dead letters (all, or those with the given ids) again on the
   * topic it reads, without the dead-letter attributes and with `sb-replay-of` naming the dead
   * letter. Every subscription of that topic receives them; a repeated replay within the
   * idempotency window publishes nothing again.
   */
  async replayDeadLetters(application: string, name: string, ids?: string[]): Promise<{ replayed: number; duplicates: number }> {
    const sub = await this.getSubscription(application, name);
    if (!sub.deadLetterTopic) throw new SwitchboardError('not_found', `subscription ${application}/${name} has no dead-letter topic`);
    const wanted = ids ? new Set(ids) : undefined;
    const subscription = storeName(application, name);
    const deadLetterKeys = new Set<string>(Object.values(deadLetterAttributes));
    return replayDeadLetters(
      this.store,
      storeName(application, sub.deadLetterTopic),
      storeName(sub.topic.application, sub.topic.name),
      (letter) => letter.attributes[deadLetterAttributes.subscription] === subscription && (!wanted || wanted.has(letter.id)),
      (letter) => ({
        data: letter.data,
        orderingKey: letter.orderingKey,
        attributes: { ...Object.fromEntries(Object.entries(letter.attributes).filter(([key]) => !deadLetterKeys.has(key))), 'sb-replay-of': letter.id },
      }),
    );
  }

  private async allBacklogs(): Promise<Map<string, SubscriptionStats>> {
    const out = new Map<string, SubscriptionStats>();
    for (const sub of await this.allSubscriptions()) {
      const stats = await this.store.subscriptionStats(storeName(sub.application, sub.name)).catch(() => undefined);
      if (stats) out.set(`${sub.application}/${sub.name}`, stats);
    }
    return out;
  }
}

function notFoundAs(application: string, name: string): (err: unknown) => never {
  return (err) => {
    throw err instanceof SwitchboardError && err.code === 'not_found' ? new SwitchboardError('not_found', `no subscription ${application}/${name}`) : err;
  };
}

function checkPush(push: unknown): asserts push is PushConfig {
  const p = push as Partial<PushConfig> | null;
  if (!p || typeof p !== 'object' || typeof p.endpoint !== 'string' || typeof p.secret !== 'string') {
    throw new SwitchboardError('bad_request', 'push is {endpoint: "https://...", secret: "..."}');
  }
  let url: URL;
  try {
    url = new URL(p.endpoint);
  } catch {
    throw new SwitchboardError('bad_request', 'push.endpoint must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SwitchboardError('bad_request', 'push.endpoint must be an absolute http(s) URL');
  if (p.secret.length < 16) throw new SwitchboardError('bad_request', 'push.secret must be at least 16 characters');
}

/** A time as ms since the epoch from a number (ms) or an ISO 8601 string. */
export function parseTime(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new SwitchboardError('bad_request', `${what} must be an ISO 8601 time or ms since the epoch`);
}

/** A delay from ms or a duration string (`500ms`, `30s`, `5m`, `2h`). */
function parseDelay(value: unknown): number {
  try {
    return parseDuration(value);
  } catch {
    throw new SwitchboardError('bad_request', 'delay must be ms or a duration such as 30s');
  }
}
