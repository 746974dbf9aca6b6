import type { Logger } from 'pino';
import { SwitchboardError } from '../protocol/errors.js';
import type { TopicMetrics } from './metrics.js';
import { storeNameLabel } from './names.js';
import type { ExhaustedMessage, NewTopicMessage, TopicMessage, TopicStore } from './store.js';

/** Attributes set on the dead-letter copy of a message. */
export const deadLetterAttributes = {
  originalId: 'sb-original-id',
  originalTopic: 'sb-original-topic',
  subscription: 'sb-subscription',
  attempts: 'sb-delivery-attempts',
} as const;

/** Where a dead letter came from: store names of its topic and subscription, and the deliveries it had. */
export interface DeadLetterOrigin {
  topic: string;
  subscription: string;
  attempts: number;
}

/** The dead-letter copy of a message: its data, attributes and ordering key, and its origin as `sb-*` attributes. */
export function deadLetterCopy(message: TopicMessage, origin: DeadLetterOrigin): NewTopicMessage {
  return {
    data: message.data,
    attributes: {
      ...message.attributes,
      [deadLetterAttributes.originalId]: message.id,
      [deadLetterAttributes.originalTopic]: origin.topic,
      [deadLetterAttributes.subscription]: origin.subscription,
      [deadLetterAttributes.attempts]: String(origin.attempts),
    },
    ...(message.orderingKey !== undefined && { orderingKey: message.orderingKey }),
  };
}

/**
 * The one dead-letter rule of every store (docs/topics.md#dead-letters), as the stores' `exhausted`
 * listener: a message that ran out of attempts is copied to its subscription's dead-letter topic,
 * and only then removed by the store. A copy that cannot be written throws, so the store keeps the
 * message and hands it over again after the ack deadline. Without a dead-letter topic, or when
 * that topic has been deleted, the message is dropped. Each message removed is counted and logged.
 */
export class DeadLetters {
  constructor(
    private readonly store: TopicStore,
    private readonly metrics: TopicMetrics,
    private readonly log: Logger,
  ) {}

  async take({ subscription, topic, deadLetterTopic, message, attempts }: ExhaustedMessage): Promise<void> {
    const copied = deadLetterTopic !== undefined && (await this.copy(deadLetterTopic, deadLetterCopy(message, { topic, subscription, attempts })));
    const label = storeNameLabel(subscription);
    this.metrics.onDeadLettered(label);
    const event = { event: 'topics.dead_lettered', subscription: label, message: message.id, attempts };
    if (copied || deadLetterTopic === undefined) this.log.warn(event, 'message ran out of delivery attempts');
    else
      this.log.warn({ ...event, deadLetterTopic: storeNameLabel(deadLetterTopic) }, 'message ran out of delivery attempts and is dropped: its dead-letter topic no longer exists');
  }

  /** Appends the copy; false when the dead-letter topic no longer exists. */
  private async copy(deadLetterTopic: string, copy: NewTopicMessage): Promise<boolean> {
    try {
      await this.store.append(deadLetterTopic, [copy]);
      return true;
    } catch (err) {
      if (err instanceof SwitchboardError && err.code === 'not_found') return false;
      throw err;
    }
  }
}
