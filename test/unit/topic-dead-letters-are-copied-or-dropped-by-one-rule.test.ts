import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/load.js';
import { SwitchboardError } from '../../src/protocol/errors.js';
import { TargetPolicy } from '../../src/outbound/targets.js';
import { DeadLetters, deadLetterAttributes } from '../../src/topics/dead-letters.js';
import { MemoryTopicStore } from '../../src/topics/memory-store.js';
import { TopicMetrics } from '../../src/topics/metrics.js';
import { TopicService } from '../../src/topics/service.js';
import type { TopicMessage } from '../../src/topics/store.js';

/** Pulls the subscription's message and gives it back until it has run out of its one attempt, then pulls once more. */
async function exhaust(topics: TopicService, sub: string): Promise<void> {
  const [got] = await topics.pull('shop', sub, { maxMessages: 1, waitMs: 1000 });
  assert.ok(got, 'delivered once');
  await topics.nack(await topics.getSubscription('shop', sub), [got.ackId], 0);
  assert.deepEqual(await topics.pull('shop', sub, { maxMessages: 1, waitMs: 0 }), []);
}

describe('dead letters, the same on every store', () => {
  let topics: TopicService;
  const deadLettered = () => topics.metrics.countsOf('shop/billing').deadLettered;

  before(async () => {
    const config = loadConfig({ overrides: { 'api.insecure': true } });
    topics = new TopicService(new MemoryTopicStore({ idempotencyWindowMs: 1000 }), config.topics, new Registry(), pino({ level: 'silent' }), new TargetPolicy([], new Registry()));
    await topics.start();
    await topics.applications.create('shop', {});
    await topics.createTopic('shop', 'orders');
    await topics.createTopic('shop', 'orders-dead');
    await topics.createSubscription('shop', 'billing', { topic: 'orders', maxDeliveryAttempts: 1, deadLetterTopic: 'orders-dead' });
  });
  after(() => topics.stop());

  it('copies a message that ran out of attempts to the dead-letter topic, with its origin, and counts it', async () => {
    const [published] = await topics.publish('shop', 'orders', [{ data: { n: 1 }, attributes: { k: 'v' }, orderingKey: 'c-1' }]);
    assert.ok(published?.ok);
    await exhaust(topics, 'billing');
    const [copy] = await topics.deadLetters('shop', 'billing', { limit: 10 });
    assert.deepEqual(copy?.data, { n: 1 });
    assert.equal(copy.orderingKey, 'c-1');
    assert.deepEqual(copy.attributes, {
      k: 'v',
      [deadLetterAttributes.originalId]: published.id,
      [deadLetterAttributes.originalTopic]: 'shop-orders',
      [deadLetterAttributes.subscription]: 'shop-billing',
      [deadLetterAttributes.attempts]: '1',
    });
    assert.equal(deadLettered(), 1);
  });

  it('drops and counts a message whose dead-letter topic has been deleted', async () => {
    await topics.deleteTopic('shop', 'orders-dead');
    await topics.publish('shop', 'orders', [{ data: { n: 2 } }]);
    await exhaust(topics, 'billing');
    assert.equal(deadLettered(), 2);
    assert.equal((await topics.subscriptionStats('shop', 'billing')).unacked, 0);
    await assert.rejects(topics.deadLetters('shop', 'billing', { limit: 10 }), (err: SwitchboardError) => err.code === 'not_found');
  });

  it('throws, counting nothing, when the copy cannot be written, so the store keeps the message', async () => {
    const store = new MemoryTopicStore({ idempotencyWindowMs: 1000 });
    store.append = async () => {
      throw new SwitchboardError('unavailable', 'the store is unavailable');
    };
    const metrics = new TopicMetrics(
      new Registry(),
      async () => new Map(),
      () => ({ applications: 0, topics: 0 }),
    );
    const message: TopicMessage = { id: 'm1', position: '1', data: 1, attributes: {}, publishTime: Date.now() };
    const exhausted = { subscription: 'shop-billing', topic: 'shop-orders', deadLetterTopic: 'shop-orders-dead', message, attempts: 3 };
    await assert.rejects(new DeadLetters(store, metrics, pino({ level: 'silent' })).take(exhausted), (err: SwitchboardError) => err.code === 'unavailable');
    assert.equal(metrics.countsOf('shop/billing').deadLettered, 0);
  });
});
