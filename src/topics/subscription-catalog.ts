import { SwitchboardError } from '../protocol/errors.js';
import type { TargetPolicy } from '../outbound/targets.js';
import type { Applications } from './applications.js';
import { deadLetterAttributes } from './dead-letters.js';
import type { Quotas } from '../config/topics.js';
import type { TopicMetrics } from './metrics.js';
import { checkName, storeName } from './names.js';
import type { SeekTarget, SubscriptionConfig, SubscriptionStats, TopicMessage, TopicStore, WebhookTarget } from './store.js';
import { replayDeadLetters } from './replay.js';
import type { TopicCatalog } from './topic-catalog.js';
import type { TopicsConfig } from './service.js';

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
  push?: WebhookTarget;
  createdAt: number;
}

export interface SubscriptionOptions {
  /** The topic: a name of the subscription's application, or `<application>/<name>` of another one that granted access. */
  topic: string;
  ackDeadlineMs?: number;
  maxDeliveryAttempts?: number;
  /** A topic name; on update, "" removes the dead-letter topic. */
  deadLetterTopic?: string;
  ordered?: boolean;
  /** Webhook delivery; on update, null makes it a pull subscription. */
  push?: WebhookTarget | null;
}

/** The subscriptions of every application: records in the store's metadata, cursors in the store. */
export class SubscriptionCatalog {
  constructor(
    private readonly store: TopicStore,
    private readonly config: TopicsConfig,
    private readonly applications: Applications,
    private readonly topics: TopicCatalog,
    private readonly metrics: TopicMetrics,
    private readonly targets: TargetPolicy,
    private readonly quotasOf: (app: { quotas: Partial<Quotas> }) => Quotas,
    /** A webhook subscription was created, changed or turned into a pull one. */
    private readonly onWebhookChanged: () => void,
  ) {}

  async get(application: string, name: string): Promise<SubscriptionRecord> {
    const sub = await this.store.metadata.get<SubscriptionRecord>('subscription', storeName(application, name));
    if (!sub) throw new SwitchboardError('not_found', `no subscription ${application}/${name}`);
    return sub;
  }

  async list(application: string): Promise<SubscriptionRecord[]> {
    return (await this.all()).filter((s) => s.application === application).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every subscription of every application (webhook delivery, metrics). */
  all(): Promise<SubscriptionRecord[]> {
    return this.store.metadata.list<SubscriptionRecord>('subscription');
  }

  private async settings(
    application: string,
    options: Partial<SubscriptionOptions>,
    base?: SubscriptionRecord,
  ): Promise<Omit<SubscriptionRecord, 'application' | 'name' | 'createdAt'>> {
    let topic = base?.topic;
    if (!base) {
      if (options.topic === undefined) throw new SwitchboardError('bad_request', 'a subscription needs a topic (a name, or application/name)');
      const [owner, name] = options.topic.includes('/') ? (options.topic.split('/', 2) as [string, string]) : [application, options.topic];
      const record = await this.topics.get(owner, name);
      if (owner !== application && !record.grants.includes(application))
        throw new SwitchboardError('forbidden', `application ${owner} has not granted ${application} subscribe rights on topic ${name}`);
      topic = { application: owner, name };
    } else if (options.topic !== undefined && options.topic !== `${base.topic.application}/${base.topic.name}` && options.topic !== base.topic.name) {
      throw new SwitchboardError('bad_request', 'a subscription cannot move to another topic; create a new one');
    }
    const ackDeadlineMs = options.ackDeadlineMs ?? base?.ackDeadlineMs ?? this.config.ackDeadline;
    if (!Number.isSafeInteger(ackDeadlineMs) || ackDeadlineMs < 100 || ackDeadlineMs > this.config.maxAckDeadline) {
      throw new SwitchboardError('bad_request', `ackDeadlineMs is between 100 and ${this.config.maxAckDeadline} (topics.maxAckDeadline)`);
    }
    const maxDeliveryAttempts = options.maxDeliveryAttempts ?? base?.maxDeliveryAttempts ?? this.config.maxDeliveryAttempts;
    if (!Number.isSafeInteger(maxDeliveryAttempts) || maxDeliveryAttempts < 0 || maxDeliveryAttempts > 1000)
      throw new SwitchboardError('bad_request', 'maxDeliveryAttempts is between 0 (unlimited) and 1000');
    const deadLetterTopic = options.deadLetterTopic !== undefined ? options.deadLetterTopic || undefined : base?.deadLetterTopic;
    if (deadLetterTopic !== undefined) await this.topics.get(application, checkName('topic', deadLetterTopic));
    const ordered = options.ordered ?? base?.ordered ?? false;
    const push = options.push !== undefined ? (options.push ?? undefined) : base?.push;
    if (push !== undefined) checkWebhookTarget(push);
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

  private storeConfig(record: SubscriptionRecord): SubscriptionConfig {
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
  async create(application: string, name: string, options: SubscriptionOptions): Promise<SubscriptionRecord> {
    checkName('subscription', name);
    const app = await this.applications.require(application);
    const owned = await this.list(application);
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
    if (record.push) this.onWebhookChanged();
    return record;
  }

  async update(application: string, name: string, options: Partial<SubscriptionOptions>): Promise<SubscriptionRecord> {
    const base = await this.get(application, name);
    const updated: SubscriptionRecord = { ...base, ...(await this.settings(application, options, base)) };
    if (options.deadLetterTopic === '') delete updated.deadLetterTopic;
    if (options.push === null) delete updated.push;
    await this.store.ensureSubscription(storeName(application, name), this.storeConfig(updated));
    await this.store.metadata.put('subscription', storeName(application, name), updated);
    if (updated.push || base.push) this.onWebhookChanged();
    return updated;
  }

  async remove(application: string, name: string): Promise<void> {
    await this.get(application, name);
    await this.store.deleteSubscription(storeName(application, name));
    await this.store.metadata.delete('subscription', storeName(application, name));
  }

  async stats(application: string, name: string): Promise<SubscriptionStats> {
    await this.get(application, name);
    return this.store.subscriptionStats(storeName(application, name));
  }

  /** The messages that ran out of attempts on this subscription: its dead-letter topic's content. */
  async deadLetters(application: string, name: string, opts: { from?: SeekTarget; limit: number }): Promise<TopicMessage[]> {
    const sub = await this.get(application, name);
    if (!sub.deadLetterTopic) throw new SwitchboardError('not_found', `subscription ${application}/${name} has no dead-letter topic`);
    return this.topics.read(application, sub.deadLetterTopic, opts);
  }

  /**
   * Publishes this subscription's dead letters (all, or those with the given ids) again on the
   * topic it reads, without the dead-letter attributes and with `sb-replay-of` naming the dead
   * letter. Every subscription of that topic receives them; a repeated replay within the
   * idempotency window publishes nothing again.
   */
  async replayDeadLetters(application: string, name: string, ids?: string[]): Promise<{ replayed: number; duplicates: number }> {
    const sub = await this.get(application, name);
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

  /** Every subscription's backlog, by `<application>/<name>` (metrics). */
  async backlogs(): Promise<Map<string, SubscriptionStats>> {
    const out = new Map<string, SubscriptionStats>();
    for (const sub of await this.all()) {
      const stats = await this.store.subscriptionStats(storeName(sub.application, sub.name)).catch(() => undefined);
      if (stats) out.set(`${sub.application}/${sub.name}`, stats);
    }
    return out;
  }
}

/** A webhook endpoint must be an absolute http(s) URL, and its secret long enough to sign with. */
function checkWebhookTarget(push: WebhookTarget): void {
  let url: URL;
  try {
    url = new URL(push.endpoint);
  } catch {
    throw new SwitchboardError('bad_request', 'push.endpoint must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SwitchboardError('bad_request', 'push.endpoint must be an absolute http(s) URL');
  if (push.secret.length < 16) throw new SwitchboardError('bad_request', 'push.secret must be at least 16 characters');
}
