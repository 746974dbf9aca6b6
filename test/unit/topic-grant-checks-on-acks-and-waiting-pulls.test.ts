import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/load.js';
import type { SwitchboardError } from '../../src/protocol/errors.js';
import { TargetPolicy } from '../../src/outbound/targets.js';
import { MemoryTopicStore } from '../../src/topics/memory-store.js';
import { TopicService, type SubscriptionRecord } from '../../src/topics/service.js';
import type { MetadataKind } from '../../src/topics/store.js';

const forbidden = (err: SwitchboardError) => err.code === 'forbidden';

describe("grant checks on a subscription of another application's topic", () => {
  const store = new MemoryTopicStore({ idempotencyWindowMs: 1000 });
  const reads: [MetadataKind, string][] = [];
  let topics: TopicService;
  let held: SubscriptionRecord;
  const grant = (allow: boolean) => topics.grant('shop', 'orders', 'analytics', allow);
  const delivered = async () => {
    await topics.publish('shop', 'orders', [{ data: 'order' }]);
    const [got] = await topics.pull('analytics', 'audit', { maxMessages: 1, waitMs: 1000 });
    assert.ok(got, 'a delivery');
    return got.ackId;
  };

  before(async () => {
    const config = loadConfig({ overrides: { 'api.insecure': true } });
    topics = new TopicService(store, config.topics, new Registry(), pino({ level: 'silent' }), new TargetPolicy([], new Registry()));
    await topics.start();
    for (const id of ['shop', 'analytics']) await topics.applications.create(id, {});
    await topics.createTopic('shop', 'orders');
    await grant(true);
    held = await topics.createSubscription('analytics', 'audit', { topic: 'shop/orders' });
    const get = store.metadata.get.bind(store.metadata);
    store.metadata.get = <T>(kind: MetadataKind, id: string) => {
      reads.push([kind, id]);
      return get<T>(kind, id);
    };
  });
  after(() => topics.stop());

  it('acks, nacks and deadline changes of a subscription a worker holds read only the topic for its grant, never the subscription again', async () => {
    const [acked, nacked, extended] = [await delivered(), await delivered(), await delivered()];
    reads.length = 0;
    assert.deepEqual(await topics.ack(held, [acked]), ['ok']);
    assert.deepEqual(await topics.modifyDeadline(held, [extended], 60_000), ['ok']);
    assert.deepEqual(await topics.nack(held, [nacked, extended], 0), ['ok', 'ok']);
    assert.deepEqual(reads, [
      ['topic', 'shop-orders'],
      ['topic', 'shop-orders'],
      ['topic', 'shop-orders'],
    ]);
    const again = await topics.pull('analytics', 'audit', { maxMessages: 10, waitMs: 1000 });
    assert.deepEqual(
      await topics.ack(
        held,
        again.map((r) => r.ackId),
      ),
      ['ok', 'ok'],
    );
  });

  it('refuse acks, nacks and deadline changes of a held subscription once the grant is taken back, and accept them again after a new grant', async () => {
    const ackId = await delivered();
    await grant(false);
    await assert.rejects(topics.ack(held, [ackId]), forbidden);
    await assert.rejects(topics.nack(held, [ackId], 0), forbidden);
    await assert.rejects(topics.modifyDeadline(held, [ackId], 60_000), forbidden);
    await grant(true);
    assert.deepEqual(await topics.ack(held, [ackId]), ['ok']);
  });

  it('gives back, without counting an attempt, what a waiting pull received after the grant was taken back', async () => {
    const waiting = topics.pull('analytics', 'audit', { maxMessages: 10, waitMs: 5000 });
    // Let the pull pass its grant check and wait in the store.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await grant(false);
    await topics.publish('shop', 'orders', [{ data: 'while revoked' }]);
    await assert.rejects(waiting, forbidden);
    await grant(true);
    const [again] = await topics.pull('analytics', 'audit', { maxMessages: 10, waitMs: 1000 });
    assert.equal(again?.message.data, 'while revoked');
    assert.equal(again.attempt, 1);
    assert.deepEqual(await topics.ack(held, [again.ackId]), ['ok']);
  });
});
