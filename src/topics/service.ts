import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { SwitchboardError } from '../protocol/errors.js';
import type { TargetPolicy } from '../outbound/targets.js';
import { Applications } from './applications.js';
import type { Quotas } from '../config/topics.js';
import { DeadLetters } from './dead-letters.js';
import { SubscriptionDelivery } from './delivery.js';
import { TopicMetrics } from './metrics.js';
import { storeNameLabel } from './names.js';
import { TopicPublisher, type PublishInput, type PublishOutcome } from './publisher.js';
import type { AckOutcome, ReceivedMessage, SeekTarget, SubscriptionStats, TopicMessage, TopicStats, TopicStore } from './store.js';
import { SubscriptionCatalog, type SubscriptionOptions, type SubscriptionRecord } from './subscription-catalog.js';
import { TopicCatalog, type TopicOptions, type TopicRecord } from './topic-catalog.js';
import { WebhookDeliverer } from './webhook-delivery.js';

export type TopicsConfig = Config['topics'];
export type { PublishInput, PublishOutcome, SubscriptionOptions, SubscriptionRecord, TopicOptions, TopicRecord };

/**
 * Durable topics for the HTTP API and webhook delivery: applications, topics (topic-catalog.ts),
 * publish with quotas (publisher.ts), subscriptions (subscription-catalog.ts),
 * pull/ack/nack/extend/seek (delivery.ts), dead letters (dead-letters.ts) and statistics on top of
 * one TopicStore. Callers are trusted and pass parsed
 * input: authorisation and request parsing are the transports' job.
 */
export class TopicService {
  readonly applications: Applications;
  readonly metrics: TopicMetrics;
  private readonly topics: TopicCatalog;
  private readonly subscriptions: SubscriptionCatalog;
  private readonly publisher: TopicPublisher;
  private readonly delivery: SubscriptionDelivery;
  private readonly deadLettering: DeadLetters;
  private readonly webhooks: WebhookDeliverer;

  constructor(
    readonly store: TopicStore,
    readonly config: TopicsConfig,
    registry: Registry,
    log: Logger,
    targets: TargetPolicy,
  ) {
    const quotasOf = (app: { quotas: Partial<Quotas> }) => this.quotasOf(app);
    this.applications = new Applications(store.metadata, { maxEntries: config.cacheEntries });
    this.metrics = new TopicMetrics(
      registry,
      () => this.subscriptions.backlogs(),
      () => ({ applications: this.applications.cachedEntries, topics: this.cachedTopics }),
    );
    this.topics = new TopicCatalog(store, config, this.applications, this.metrics, quotasOf);
    this.subscriptions = new SubscriptionCatalog(store, config, this.applications, this.topics, this.metrics, targets, quotasOf, () => this.webhooks.refresh());
    this.publisher = new TopicPublisher(store, config, this.applications, this.topics, this.metrics, quotasOf);
    this.delivery = new SubscriptionDelivery(store, config, this.subscriptions, this.metrics);
    this.deadLettering = new DeadLetters(store, this.metrics, log);
    this.webhooks = new WebhookDeliverer(this, config.push, this.metrics, log, targets);
  }

  async start(): Promise<void> {
    await this.store.start({
      redelivered: (sub) => this.metrics.onRedelivered(storeNameLabel(sub)),
      exhausted: (exhausted) => this.deadLettering.take(exhausted),
    });
    await this.applications.seed(this.config.applications);
    this.webhooks.start();
  }

  async stop(): Promise<void> {
    await this.webhooks.stop();
    await this.store.close();
  }

  quotasOf(app: { quotas: Partial<Quotas> }): Quotas {
    return { ...this.config.quotas, ...app.quotas };
  }

  /** Deletes an application with its topics and subscriptions. */
  async deleteApplication(id: string): Promise<void> {
    await this.applications.require(id);
    for (const sub of await this.listSubscriptions(id)) await this.deleteSubscription(id, sub.name);
    for (const topic of await this.listTopics(id)) await this.deleteTopic(id, topic.name);
    await this.applications.remove(id);
    this.publisher.forget(id);
  }

  // Topics (topic-catalog.ts)

  getTopic(application: string, name: string): Promise<TopicRecord> {
    return this.topics.get(application, name);
  }

  listTopics(application: string): Promise<TopicRecord[]> {
    return this.topics.list(application);
  }

  /** Creates a topic; 409 limit_exceeded when it exists or the application is at its topic quota. */
  createTopic(application: string, name: string, options: TopicOptions = {}): Promise<TopicRecord> {
    return this.topics.create(application, name, options);
  }

  updateTopic(application: string, name: string, options: TopicOptions): Promise<TopicRecord> {
    return this.topics.update(application, name, options);
  }

  /** Deletes a topic, every subscription on it and its messages. */
  async deleteTopic(application: string, name: string): Promise<void> {
    await this.topics.get(application, name);
    const subs = (await this.subscriptions.all()).filter((s) => s.topic.application === application && s.topic.name === name);
    for (const sub of subs) await this.subscriptions.remove(sub.application, sub.name);
    await this.topics.remove(application, name);
  }

  grant(application: string, name: string, grantee: string, allow: boolean): Promise<TopicRecord> {
    return this.topics.grant(application, name, grantee, allow);
  }

  topicStats(application: string, name: string): Promise<TopicStats> {
    return this.topics.stats(application, name);
  }

  /** Retained messages of a topic in log order (a dead-letter topic's listing, inspection). */
  readTopic(application: string, name: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    return this.topics.read(application, name, opts);
  }

  // Publishing (publisher.ts)

  /** Publishes in order within the application's limits and quotas; see TopicPublisher.publish. */
  publish(application: string, topic: string, inputs: (PublishInput | SwitchboardError)[]): Promise<PublishOutcome[]> {
    return this.publisher.publish(application, topic, inputs);
  }

  /** Topic records cached for publishing now. */
  get cachedTopics(): number {
    return this.topics.cachedEntries;
  }

  // Subscriptions (subscription-catalog.ts)

  getSubscription(application: string, name: string): Promise<SubscriptionRecord> {
    return this.subscriptions.get(application, name);
  }

  listSubscriptions(application: string): Promise<SubscriptionRecord[]> {
    return this.subscriptions.list(application);
  }

  /** Every subscription of every application (webhook delivery, metrics). */
  allSubscriptions(): Promise<SubscriptionRecord[]> {
    return this.subscriptions.all();
  }

  /** Creates a subscription receiving what its topic gets from now on; 409 when it exists or over quota. */
  createSubscription(application: string, name: string, options: SubscriptionOptions): Promise<SubscriptionRecord> {
    return this.subscriptions.create(application, name, options);
  }

  updateSubscription(application: string, name: string, options: Partial<SubscriptionOptions>): Promise<SubscriptionRecord> {
    return this.subscriptions.update(application, name, options);
  }

  deleteSubscription(application: string, name: string): Promise<void> {
    return this.subscriptions.remove(application, name);
  }

  subscriptionStats(application: string, name: string): Promise<SubscriptionStats> {
    return this.subscriptions.stats(application, name);
  }

  /** The messages that ran out of attempts on this subscription: its dead-letter topic's content. */
  deadLetters(application: string, name: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    return this.subscriptions.deadLetters(application, name, opts);
  }

  /**
   * Publishes this subscription's dead letters (all, or those with the given ids) again on the
   * topic it reads; every subscription of that topic receives them (subscription-catalog.ts).
   */
  replayDeadLetters(application: string, name: string, ids?: string[]): Promise<{ replayed: number; duplicates: number }> {
    return this.subscriptions.replayDeadLetters(application, name, ids);
  }

  // Delivery (delivery.ts)

  /** Pulls up to maxMessages, waiting up to waitMs for the first; each comes with an ack id and its attempt number. */
  pull(application: string, name: string, opts: { maxMessages: number; waitMs: number; signal?: AbortSignal }): Promise<ReceivedMessage[]> {
    return this.delivery.pull(application, name, opts);
  }

  /**
   * Acknowledges deliveries of a subscription as the caller read it (getSubscription) or already
   * holds it (a webhook worker, a streaming pull); per ack id 'ok', 'unknown' or 'expired'.
   */
  ack(subscription: SubscriptionRecord, ackIds: string[]): Promise<AckOutcome[]> {
    return this.delivery.ack(subscription, ackIds);
  }

  /** Gives deliveries back, to be delivered again no earlier than delayMs from now; the subscription as for ack. */
  nack(subscription: SubscriptionRecord, ackIds: string[], delayMs = 0): Promise<AckOutcome[]> {
    return this.delivery.nack(subscription, ackIds, delayMs);
  }

  /** Sets the ack deadline of pending messages: 0 gives them back now, more extends their deadline; the subscription as for ack. */
  modifyDeadline(subscription: SubscriptionRecord, ackIds: string[], deadlineMs: number): Promise<AckOutcome[]> {
    return this.delivery.modifyDeadline(subscription, ackIds, deadlineMs);
  }

  /** Replays from a time or position (or skips ahead); outstanding ack ids become unknown. */
  seek(application: string, name: string, target: SeekTarget): Promise<void> {
    return this.delivery.seek(application, name, target);
  }
}
