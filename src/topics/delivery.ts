import { SwitchboardError } from '../protocol/errors.js';
import type { TopicMetrics } from './metrics.js';
import { storeName } from './names.js';
import type { AckOutcome, ReceivedMessage, SeekTarget, TopicStore } from './store.js';
import type { SubscriptionCatalog, SubscriptionRecord } from './subscription-catalog.js';
import type { TopicRecord } from './topic-catalog.js';
import type { TopicsConfig } from './service.js';

/** Pull, ack, nack, deadline changes and seek on subscriptions, cut off at once when a grant is taken back. */
export class SubscriptionDelivery {
  constructor(
    private readonly store: TopicStore,
    private readonly config: TopicsConfig,
    private readonly subscriptions: SubscriptionCatalog,
    private readonly metrics: TopicMetrics,
  ) {}

  /** Pulls up to maxMessages, waiting up to waitMs for the first; each comes with an ack id and its attempt number. */
  async pull(application: string, name: string, opts: { maxMessages: number; waitMs: number; signal?: AbortSignal }): Promise<ReceivedMessage[]> {
    if (!Number.isSafeInteger(opts.maxMessages) || opts.maxMessages < 1 || opts.maxMessages > this.config.maxPullMessages) {
      throw new SwitchboardError('bad_request', `maxMessages is between 1 and ${this.config.maxPullMessages} (topics.maxPullMessages)`);
    }
    if (!Number.isFinite(opts.waitMs) || opts.waitMs < 0 || opts.waitMs > this.config.maxPullWait) {
      throw new SwitchboardError('bad_request', `waitMs is between 0 and ${this.config.maxPullWait} (topics.maxPullWait)`);
    }
    const sub = await this.readable(application, name);
    const received = await this.store.pull(storeName(application, name), opts).catch(notFoundAs({ application, name }));
    if (received.length > 0 && sub.topic.application !== application) {
      // The grant may have been taken back while the pull waited: what came meanwhile goes back,
      // handed out to no one, so it is not an attempt (a grant taken back never dead-letters).
      try {
        await this.checkGrant(sub);
      } catch (err) {
        await this.store
          .nack(
            storeName(application, name),
            received.map((r) => r.ackId),
            0,
            { notAttempted: true },
          )
          .catch(() => {});
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
    const sub = await this.subscriptions.get(application, name);
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

  private checkAckIds(ackIds: string[]): void {
    if (ackIds.length > this.config.maxPullMessages) throw new SwitchboardError('too_large', `at most ${this.config.maxPullMessages} ack ids per call`);
  }

  /**
   * Acknowledges deliveries; per ack id 'ok', 'unknown' or 'expired'. `sub` is the record the caller
   * read or holds (a webhook worker, a streaming pull): a subscription never moves to another topic,
   * so a held record names the topic whose grant is checked, and only the grant is read again.
   */
  async ack(sub: SubscriptionRecord, ackIds: string[]): Promise<AckOutcome[]> {
    this.checkAckIds(ackIds);
    await this.checkGrant(sub);
    const outcomes = await this.store.ack(storeName(sub.application, sub.name), ackIds).catch(notFoundAs(sub));
    this.metrics.onAcked(`${sub.application}/${sub.name}`, outcomes.filter((o) => o === 'ok').length);
    return outcomes;
  }

  /** Gives deliveries back, to be delivered again no earlier than delayMs from now; `sub` as for ack. */
  async nack(sub: SubscriptionRecord, ackIds: string[], delayMs = 0): Promise<AckOutcome[]> {
    if (!Number.isSafeInteger(delayMs) || delayMs < 0 || delayMs > this.config.maxAckDeadline)
      throw new SwitchboardError('bad_request', `delayMs is between 0 and ${this.config.maxAckDeadline} (topics.maxAckDeadline)`);
    this.checkAckIds(ackIds);
    await this.checkGrant(sub);
    return this.store.nack(storeName(sub.application, sub.name), ackIds, delayMs).catch(notFoundAs(sub));
  }

  /** Sets the ack deadline of pending messages: 0 gives them back now, more extends their deadline; `sub` as for ack. */
  async modifyDeadline(sub: SubscriptionRecord, ackIds: string[], deadlineMs: number): Promise<AckOutcome[]> {
    if (!Number.isSafeInteger(deadlineMs) || deadlineMs < 0 || deadlineMs > this.config.maxAckDeadline)
      throw new SwitchboardError('bad_request', `deadlineMs is between 0 and ${this.config.maxAckDeadline} (topics.maxAckDeadline)`);
    if (deadlineMs === 0) return this.nack(sub, ackIds, 0);
    this.checkAckIds(ackIds);
    await this.checkGrant(sub);
    return this.store.extend(storeName(sub.application, sub.name), ackIds, deadlineMs).catch(notFoundAs(sub));
  }

  /** Replays from a time or position (or skips ahead); outstanding ack ids become unknown. */
  async seek(application: string, name: string, target: SeekTarget): Promise<void> {
    await this.readable(application, name);
    await this.store.seek(storeName(application, name), target);
  }
}

function notFoundAs({ application, name }: { application: string; name: string }): (err: unknown) => never {
  return (err) => {
    throw err instanceof SwitchboardError && err.code === 'not_found' ? new SwitchboardError('not_found', `no subscription ${application}/${name}`) : err;
  };
}
