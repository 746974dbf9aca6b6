/** How the topics API (HTTP and streaming pull) shows messages, deliveries, ack results and records. */
import type { SubscriptionRecord, TopicRecord } from './service.js';
import { deadLetterAttributes } from './dead-letters.js';
import type { AckOutcome, ReceivedMessage, TopicMessage } from './store.js';

/**
 * A message's attributes as the API shows them: a dead-letter copy names its origin as the store
 * does (`app-name`, application ids have no `-`); the API names it `app/name`.
 */
export function publicAttributes(attributes: Record<string, string>): Record<string, string> {
  const out = { ...attributes };
  for (const key of [deadLetterAttributes.originalTopic, deadLetterAttributes.subscription]) {
    if (out[key] !== undefined) out[key] = out[key].replace('-', '/');
  }
  return out;
}

/** A message as the topic API shows it. */
export function publicMessage(m: TopicMessage): Record<string, unknown> {
  return {
    id: m.id,
    position: m.position,
    data: m.data,
    attributes: publicAttributes(m.attributes),
    ...(m.orderingKey !== undefined && { orderingKey: m.orderingKey }),
    publishTime: new Date(m.publishTime).toISOString(),
    ...(m.deliverAt !== undefined && { deliverAt: new Date(m.deliverAt).toISOString() }),
  };
}

export function publicReceived(r: ReceivedMessage): Record<string, unknown> {
  return { ackId: r.ackId, attempt: r.attempt, message: publicMessage(r.message) };
}

/** Per ack id: `{ackId, ok: true}`, or an error: not_found (unknown id) or timeout (its deadline passed, delivered again). */
export function ackResults(ackIds: string[], outcomes: AckOutcome[]): Record<string, unknown>[] {
  return outcomes.map((outcome, i) => {
    const ackId = ackIds[i];
    if (outcome === 'ok') return { ackId, ok: true };
    if (outcome === 'unknown') return { ackId, error: { code: 'not_found', message: 'unknown ack id (never handed out, already acknowledged, or from before a seek)' } };
    return { ackId, error: { code: 'timeout', message: 'the ack deadline of this delivery passed and the message is delivered again; use the newer ack id' } };
  });
}

export function publicTopic(t: TopicRecord): Record<string, unknown> {
  return {
    application: t.application,
    name: t.name,
    retentionMs: t.retentionMs,
    retentionBytes: t.retentionBytes,
    partitions: t.partitions,
    grants: t.grants,
    createdAt: new Date(t.createdAt).toISOString(),
  };
}

export function publicSubscription(s: SubscriptionRecord): Record<string, unknown> {
  return {
    application: s.application,
    name: s.name,
    topic: `${s.topic.application}/${s.topic.name}`,
    type: s.push ? 'push' : 'pull',
    ackDeadlineMs: s.ackDeadlineMs,
    maxDeliveryAttempts: s.maxDeliveryAttempts,
    ordered: s.ordered,
    ...(s.deadLetterTopic !== undefined && { deadLetterTopic: s.deadLetterTopic }),
    // The secret is write-only.
    ...(s.push && { push: { endpoint: s.push.endpoint } }),
    createdAt: new Date(s.createdAt).toISOString(),
  };
}
