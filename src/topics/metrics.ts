import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SubscriptionStats } from './store.js';

export type WebhookOutcome = 'ok' | 'http_error' | 'redirect' | 'timeout' | 'unreachable' | 'forbidden';
export type PublishRejection = 'bad_request' | 'too_large' | 'rate_limited' | 'not_found' | 'unavailable' | 'batch_too_large';

/** Per-node counts a topic or subscription shows in the API (since this node started). */
export interface Counts {
  published: number;
  acked: number;
  redelivered: number;
  deadLettered: number;
}

/**
 * Prometheus metrics of durable topics, and the same counts for the API. Backlog gauges are read
 * from the store at scrape time through `backlog`.
 */
export class TopicMetrics {
  private readonly published: Counter<'application' | 'topic'>;
  private readonly publishRejected: Counter<'reason'>;
  private readonly acked: Counter<'subscription'>;
  private readonly redelivered: Counter<'subscription'>;
  private readonly deadLettered: Counter<'subscription'>;
  private readonly quotaHits: Counter<'application' | 'quota'>;
  private readonly ackRejected: Counter<'reason'>;
  private readonly webhookAttempts: Counter<'subscription' | 'outcome'>;
  private readonly webhookDuration: Histogram<'subscription'>;
  private readonly counts = new Map<string, Counts>();

  constructor(registry: Registry, backlog: () => Promise<Map<string, SubscriptionStats>>, cacheSizes: () => Record<'applications' | 'topics', number>) {
    const registers = [registry];
    new Gauge({
      name: 'switchboard_topic_cache_entries',
      help: 'Applications (with unknown application ids) and topic records a node keeps cached, by cache; at most topics.cacheEntries each',
      labelNames: ['cache'],
      registers,
      collect(this: Gauge) {
        for (const [cache, size] of Object.entries(cacheSizes())) this.set({ cache }, size);
      },
    });
    this.published = new Counter({
      name: 'switchboard_topic_messages_published_total',
      help: 'Messages stored in topics, by application and topic',
      labelNames: ['application', 'topic'],
      registers,
    });
    this.publishRejected = new Counter({
      name: 'switchboard_topic_publish_rejected_total',
      help: 'Messages (or whole requests) refused at publish, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.acked = new Counter({ name: 'switchboard_topic_messages_acked_total', help: 'Messages acknowledged, by subscription', labelNames: ['subscription'], registers });
    this.redelivered = new Counter({
      name: 'switchboard_topic_messages_redelivered_total',
      help: 'Messages delivered again (attempt 2 or later), by subscription',
      labelNames: ['subscription'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'switchboard_topic_messages_dead_lettered_total',
      help: 'Messages that ran out of delivery attempts, by subscription',
      labelNames: ['subscription'],
      registers,
    });
    this.quotaHits = new Counter({
      name: 'switchboard_topic_quota_hits_total',
      help: 'Requests refused by an application quota, by application and quota',
      labelNames: ['application', 'quota'],
      registers,
    });
    this.ackRejected = new Counter({
      name: 'switchboard_topic_ack_ids_rejected_total',
      help: 'Ack ids given to ack, nack or modify-deadline that named no current delivery, by reason (unknown, expired)',
      labelNames: ['reason'],
      registers,
    });
    this.webhookAttempts = new Counter({
      name: 'switchboard_topic_push_attempts_total',
      help: 'Webhook deliveries of push subscriptions, by subscription and outcome',
      labelNames: ['subscription', 'outcome'],
      registers,
    });
    this.webhookDuration = new Histogram({
      name: 'switchboard_topic_push_duration_seconds',
      help: 'Time of one webhook delivery, by subscription',
      labelNames: ['subscription'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    let latest: Promise<Map<string, SubscriptionStats>> | undefined;
    // Both gauges share one read of the store per scrape.
    const read = () => (latest ??= backlog().finally(() => setTimeout(() => (latest = undefined), 100)));
    new Gauge({
      name: 'switchboard_topic_backlog_messages',
      help: 'Messages a subscription has not acknowledged (delivered or not)',
      labelNames: ['subscription'],
      registers,
      async collect(this: Gauge) {
        this.reset();
        for (const [subscription, stats] of await read().catch(() => new Map<string, SubscriptionStats>())) this.set({ subscription }, stats.unacked);
      },
    });
    new Gauge({
      name: 'switchboard_topic_oldest_unacked_seconds',
      help: 'Age of the oldest message a subscription has not acknowledged',
      labelNames: ['subscription'],
      registers,
      async collect(this: Gauge) {
        this.reset();
        for (const [subscription, stats] of await read().catch(() => new Map<string, SubscriptionStats>())) this.set({ subscription }, stats.oldestUnackedAgeMs / 1000);
      },
    });
  }

  private count(name: string): Counts {
    let counts = this.counts.get(name);
    if (!counts) this.counts.set(name, (counts = { published: 0, acked: 0, redelivered: 0, deadLettered: 0 }));
    return counts;
  }

  /** Messages acknowledged so far on this node, by subscription (`application/name`). */
  ackedTotals(): Map<string, number> {
    const totals = new Map<string, number>();
    for (const [name, counts] of this.counts) if (counts.acked > 0) totals.set(name, counts.acked);
    return totals;
  }

  /** Counts of a topic or subscription (by its `application/name`). */
  countsOf(name: string): Counts {
    return { ...this.count(name) };
  }

  onPublished(application: string, topic: string, n: number): void {
    this.published.inc({ application, topic }, n);
    this.count(`${application}/${topic}`).published += n;
  }

  onPublishRejected(reason: PublishRejection, n = 1): void {
    this.publishRejected.inc({ reason }, n);
  }

  onAcked(subscription: string, n: number): void {
    this.acked.inc({ subscription }, n);
    this.count(subscription).acked += n;
  }

  onRedelivered(subscription: string): void {
    this.redelivered.inc({ subscription });
    this.count(subscription).redelivered++;
  }

  onDeadLettered(subscription: string): void {
    this.deadLettered.inc({ subscription });
    this.count(subscription).deadLettered++;
  }

  onQuotaHit(application: string, quota: string): void {
    this.quotaHits.inc({ application, quota });
  }

  onAckRejected(reason: 'unknown' | 'expired'): void {
    this.ackRejected.inc({ reason });
  }

  onWebhookAttempt(subscription: string, outcome: WebhookOutcome, seconds: number): void {
    this.webhookAttempts.inc({ subscription, outcome });
    this.webhookDuration.observe({ subscription }, seconds);
  }
}
