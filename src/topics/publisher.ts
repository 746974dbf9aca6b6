import { SwitchboardError, asSwitchboardError } from '../protocol/errors.js';
import type { Applications } from './applications.js';
import type { Quotas } from '../config/topics.js';
import type { TopicMetrics } from './metrics.js';
import { storeName } from './names.js';
import { BatchOverQuota, PublishQuotas, QuotaExceeded } from './quotas.js';
import type { AppendResult, NewTopicMessage, TopicStore } from './store.js';
import type { TopicCatalog } from './topic-catalog.js';
import type { TopicsConfig } from './service.js';

/** One message to publish, as parsed from a request. `deliverAt` (ms since the epoch) and `delayMs` are exclusive. */
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

/** Publishing to topics within each application's limits and rate quotas. */
export class TopicPublisher {
  private readonly quotas = new PublishQuotas();

  constructor(
    private readonly store: TopicStore,
    private readonly config: TopicsConfig,
    private readonly applications: Applications,
    private readonly topics: TopicCatalog,
    private readonly metrics: TopicMetrics,
    private readonly quotasOf: (app: { quotas: Partial<Quotas> }) => Quotas,
  ) {}

  /** Forgets a deleted application's rate buckets. */
  forget(application: string): void {
    this.quotas.forget(application);
  }

  /** Checks one message against the application's limits; returns what the store takes and its size. */
  private prepare(input: PublishInput, maxMessageBytes: number, retentionMs: number, now: number): { message: NewTopicMessage; bytes: number } {
    const message: NewTopicMessage = { data: input.data };
    if (input.attributes !== undefined) {
      const entries = Object.entries(input.attributes);
      const { maxAttributes, maxAttributeKeyBytes, maxAttributeValueBytes } = this.config;
      if (entries.length > maxAttributes) throw new SwitchboardError('bad_request', `a message has at most ${maxAttributes} attributes (topics.maxAttributes)`);
      for (const [k, v] of entries) {
        if (k === '' || Buffer.byteLength(k) > maxAttributeKeyBytes)
          throw new SwitchboardError('bad_request', `attribute keys are 1-${maxAttributeKeyBytes} bytes (topics.maxAttributeKeyBytes)`);
        if (Buffer.byteLength(v) > maxAttributeValueBytes)
          throw new SwitchboardError('bad_request', `attribute values are at most ${maxAttributeValueBytes} bytes (topics.maxAttributeValueBytes)`);
        if (k.startsWith('sb-')) throw new SwitchboardError('bad_request', 'attribute keys starting with sb- are reserved');
      }
      message.attributes = input.attributes;
    }
    for (const key of ['orderingKey', 'idempotencyKey'] as const) {
      const value = input[key];
      if (value === undefined) continue;
      const { maxKeyBytes } = this.config;
      if (value === '' || Buffer.byteLength(value) > maxKeyBytes)
        throw new SwitchboardError('bad_request', `${key} must be a string of 1-${maxKeyBytes} bytes (topics.maxKeyBytes)`);
      message[key] = value;
    }
    const deliverAt = input.deliverAt ?? (input.delayMs !== undefined ? now + input.delayMs : undefined);
    if (deliverAt !== undefined && deliverAt > now) {
      if (retentionMs > 0 && deliverAt - now >= retentionMs) throw new SwitchboardError('bad_request', "the delivery time is beyond the topic's retention");
      message.deliverAt = deliverAt;
    }
    const bytes = Buffer.byteLength(JSON.stringify([message.data, message.attributes ?? null, message.orderingKey ?? null]));
    if (bytes > maxMessageBytes) throw new SwitchboardError('too_large', `a message is at most ${maxMessageBytes} bytes (data, attributes and ordering key as JSON)`);
    return { message, bytes };
  }

  /**
   * Publishes messages to a topic in order and answers once the store confirmed every write.
   * Malformed or oversized messages get their own error (an input the caller could not parse comes
   * as its error); the rest land. Over the application's rate quota the whole call throws
   * QuotaExceeded (429, with seconds to wait) and nothing lands; a call larger than one second of
   * a rate quota throws BatchOverQuota (413) and nothing lands.
   */
  async publish(application: string, topicName: string, inputs: (PublishInput | SwitchboardError)[]): Promise<PublishOutcome[]> {
    if (inputs.length > this.config.maxBatchSize) {
      this.metrics.onPublishRejected('batch_too_large');
      throw new SwitchboardError('too_large', `a publish holds at most ${this.config.maxBatchSize} messages (topics.maxBatchSize)`);
    }
    const app = await this.applications.require(application);
    const topic = await this.topics.cached(application, topicName);
    const quotas = this.quotasOf(app);
    const now = Date.now();
    const outcomes: (PublishOutcome | undefined)[] = [];
    const accepted: { index: number; message: NewTopicMessage }[] = [];
    let bytes = 0;
    inputs.forEach((input, index) => {
      try {
        if (input instanceof SwitchboardError) throw input;
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
      const results = await this.store
        .append(
          storeName(application, topicName),
          accepted.map((a) => a.message),
        )
        .catch((err: unknown) => {
          this.metrics.onPublishRejected(err instanceof SwitchboardError && err.code === 'not_found' ? 'not_found' : 'unavailable', accepted.length);
          throw err;
        });
      accepted.forEach((a, i) => (outcomes[a.index] = { ok: true, ...results[i]! }));
      this.metrics.onPublished(application, topicName, results.filter((r) => !r.duplicate).length);
    }
    return outcomes as PublishOutcome[];
  }
}
