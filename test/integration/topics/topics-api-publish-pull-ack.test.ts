import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer } from '../../helpers/auth.js';
import { request } from '../../helpers/http.js';
import type { TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { adminKey, keyedTopicsNode } from '../../helpers/topics-api.js';

describe('the topics API: applications, topics, subscriptions, publish, pull, ack', () => {
  let node: TestNode;
  let appKey: string;
  let api: (path: string) => string;

  before(async () => {
    ({ node, key: appKey, api } = await keyedTopicsNode({ id: 'shop', quotas: { maxTopics: 10 } }));
  });
  after(() => node?.stop());

  it('creates an application with an admin key, and lists it with its quotas', async () => {
    assert.match(appKey, /^sbk_shop_/);
    const listed = await request('GET', api('/applications'), { headers: bearer(adminKey) });
    const shop = listed.body.applications.find((a: { id: string }) => a.id === 'shop');
    assert.equal(shop.quotas.maxTopics, 10);
    assert.equal(shop.quotas.messagesPerSecond, 100_000);
    assert.deepEqual(shop.keys[0].scopes, ['admin', 'publish', 'subscribe']);
    assert.equal(JSON.stringify(listed.body).includes('digest'), false, 'key digests are never shown');
  });

  it('publishes a batch and delivers it once to a pull subscription until it is acknowledged', async () => {
    assert.equal((await request('POST', api('/shop/topics'), { body: { name: 'orders', retentionMs: 3_600_000 }, headers: bearer(appKey) })).status, 201);
    const sub = await request('POST', api('/shop/subscriptions'), { body: { name: 'billing', topic: 'orders', ackDeadlineMs: 5000 }, headers: bearer(appKey) });
    assert.equal(sub.status, 201, sub.text);
    assert.equal(sub.body.type, 'pull');
    const published = await request('POST', api('/shop/topics/orders/publish'), {
      body: {
        messages: [
          { data: { n: 1 }, attributes: { kind: 'new' } },
          { data: { n: 2 }, orderingKey: 'c-7' },
        ],
      },
      headers: bearer(appKey),
    });
    assert.equal(published.status, 200, published.text);
    assert.equal(published.body.results.length, 2);
    assert.ok(published.body.results.every((r: { id: string; duplicate: boolean }) => typeof r.id === 'string' && r.duplicate === false));
    const pulled = await request('POST', api('/shop/subscriptions/billing/pull'), { body: { maxMessages: 10, waitMs: 2000 }, headers: bearer(appKey) });
    assert.equal(pulled.status, 200, pulled.text);
    assert.deepEqual(
      pulled.body.messages.map((m: { message: { data: unknown } }) => m.message.data),
      [{ n: 1 }, { n: 2 }],
    );
    const [first] = pulled.body.messages;
    assert.equal(first.attempt, 1);
    assert.deepEqual(first.message.attributes, { kind: 'new' });
    assert.equal(first.message.id, published.body.results[0].id);
    assert.ok(!Number.isNaN(Date.parse(first.message.publishTime)));
    const acked = await request('POST', api('/shop/subscriptions/billing/ack'), {
      body: { ackIds: pulled.body.messages.map((m: { ackId: string }) => m.ackId) },
      headers: bearer(appKey),
    });
    assert.deepEqual(
      acked.body.results.map((r: { ok: boolean }) => r.ok),
      [true, true],
    );
    const again = await request('POST', api('/shop/subscriptions/billing/pull'), { body: { maxMessages: 10, waitMs: 300 }, headers: bearer(appKey) });
    assert.deepEqual(again.body.messages, []);
  });

  it('answers a single publish with its id, and a repeated idempotency key with the first id', async () => {
    const one = await request('POST', api('/shop/topics/orders/publish'), { body: { data: 'x', idempotencyKey: 'k-1' }, headers: bearer(appKey) });
    const two = await request('POST', api('/shop/topics/orders/publish'), { body: { data: 'y', idempotencyKey: 'k-1' }, headers: bearer(appKey) });
    assert.equal(one.status, 200);
    assert.equal(one.body.duplicate, false);
    assert.equal(two.body.duplicate, true);
    assert.equal(two.body.id, one.body.id);
  });

  it('shows the backlog and counts of a subscription in the API and in Prometheus', async () => {
    await request('POST', api('/shop/subscriptions'), { body: { name: 'audit', topic: 'orders' }, headers: bearer(appKey) });
    await request('POST', api('/shop/topics/orders/publish'), { body: { messages: [{ data: 1 }, { data: 2 }, { data: 3 }] }, headers: bearer(appKey) });
    const pulled = await request('POST', api('/shop/subscriptions/audit/pull'), { body: { maxMessages: 1, waitMs: 1000 }, headers: bearer(appKey) });
    await request('POST', api('/shop/subscriptions/audit/ack'), { body: { ackIds: [pulled.body.messages[0].ackId] }, headers: bearer(appKey) });
    const shown = await request('GET', api('/shop/subscriptions/audit'), { headers: bearer(appKey) });
    assert.equal(shown.body.stats.unacked, 2);
    assert.ok(shown.body.stats.oldestUnackedAgeMs >= 0);
    assert.equal(shown.body.counts.acked, 1);
    const topic = await request('GET', api('/shop/topics/orders'), { headers: bearer(appKey) });
    assert.ok(topic.body.counts.published >= 6);
    assert.ok(topic.body.stats.messages >= 6);
    const metrics = await scrape(node.url);
    assert.equal(metrics.value('switchboard_topic_backlog_messages', { subscription: 'shop/audit' }), 2);
    assert.equal(metrics.value('switchboard_topic_messages_acked_total', { subscription: 'shop/audit' }), 1);
    assert.ok(metrics.value('switchboard_topic_messages_published_total', { application: 'shop', topic: 'orders' }) >= 6);
  });

  it('redelivers after a nack, extends deadlines and replays after a seek', async () => {
    await request('POST', api('/shop/topics'), { body: { name: 'events' }, headers: bearer(appKey) });
    await request('POST', api('/shop/subscriptions'), { body: { name: 'replayer', topic: 'events', ackDeadlineMs: 10_000 }, headers: bearer(appKey) });
    const published = await request('POST', api('/shop/topics/events/publish'), { body: { messages: [{ data: 'a' }, { data: 'b' }] }, headers: bearer(appKey) });
    const first = await request('POST', api('/shop/subscriptions/replayer/pull'), { body: { maxMessages: 2, waitMs: 1000 }, headers: bearer(appKey) });
    const [a, b] = first.body.messages;
    const extended = await request('POST', api('/shop/subscriptions/replayer/modify-deadline'), { body: { ackIds: [b.ackId], deadlineMs: 20_000 }, headers: bearer(appKey) });
    assert.equal(extended.body.results[0].ok, true);
    await request('POST', api('/shop/subscriptions/replayer/nack'), { body: { ackIds: [a.ackId] }, headers: bearer(appKey) });
    const redelivered = await request('POST', api('/shop/subscriptions/replayer/pull'), { body: { maxMessages: 2, waitMs: 2000 }, headers: bearer(appKey) });
    assert.deepEqual(
      redelivered.body.messages.map((m: { message: { data: string }; attempt: number }) => [m.message.data, m.attempt]),
      [['a', 2]],
    );
    const seek = await request('POST', api('/shop/subscriptions/replayer/seek'), { body: { position: published.body.results[0].position }, headers: bearer(appKey) });
    assert.equal(seek.status, 200, seek.text);
    const replay = await request('POST', api('/shop/subscriptions/replayer/pull'), { body: { maxMessages: 2, waitMs: 2000 }, headers: bearer(appKey) });
    assert.deepEqual(
      replay.body.messages.map((m: { message: { data: string } }) => m.message.data),
      ['a', 'b'],
    );
  });

  it('lets another application subscribe only after the owner granted it', async () => {
    const other = await request('POST', api('/applications'), { body: { id: 'analytics' }, headers: bearer(adminKey) });
    const otherKey = other.body.key;
    const refused = await request('POST', api('/analytics/subscriptions'), { body: { name: 'all-orders', topic: 'shop/orders' }, headers: bearer(otherKey) });
    assert.equal(refused.status, 403, refused.text);
    assert.equal((await request('PUT', api('/shop/topics/orders/grants/analytics'), { headers: bearer(appKey) })).status, 200);
    const allowed = await request('POST', api('/analytics/subscriptions'), { body: { name: 'all-orders', topic: 'shop/orders' }, headers: bearer(otherKey) });
    assert.equal(allowed.status, 201, allowed.text);
    await request('POST', api('/shop/topics/orders/publish'), { body: { data: 'shared' }, headers: bearer(appKey) });
    const pulled = await request('POST', api('/analytics/subscriptions/all-orders/pull'), { body: { maxMessages: 5, waitMs: 2000 }, headers: bearer(otherKey) });
    assert.deepEqual(
      pulled.body.messages.map((m: { message: { data: string } }) => m.message.data),
      ['shared'],
    );
  });

  it('lists the dead letters of a subscription from its dead-letter topic', async () => {
    await request('POST', api('/shop/topics'), { body: { name: 'jobs' }, headers: bearer(appKey) });
    await request('POST', api('/shop/topics'), { body: { name: 'jobs-dead' }, headers: bearer(appKey) });
    await request('POST', api('/shop/subscriptions'), { body: { name: 'worker', topic: 'jobs', maxDeliveryAttempts: 1, deadLetterTopic: 'jobs-dead' }, headers: bearer(appKey) });
    await request('POST', api('/shop/subscriptions'), { body: { name: 'dead-reader', topic: 'jobs-dead' }, headers: bearer(appKey) });
    await request('POST', api('/shop/topics/jobs/publish'), { body: { data: 'poison' }, headers: bearer(appKey) });
    const pulled = await request('POST', api('/shop/subscriptions/worker/pull'), { body: { maxMessages: 1, waitMs: 1000 }, headers: bearer(appKey) });
    await request('POST', api('/shop/subscriptions/worker/nack'), { body: { ackIds: [pulled.body.messages[0].ackId] }, headers: bearer(appKey) });
    const none = await request('POST', api('/shop/subscriptions/worker/pull'), { body: { maxMessages: 1, waitMs: 300 }, headers: bearer(appKey) });
    assert.deepEqual(none.body.messages, []);
    const read = await request('POST', api('/shop/subscriptions/dead-reader/pull'), { body: { maxMessages: 1, waitMs: 1000 }, headers: bearer(appKey) });
    assert.deepEqual(
      [read.body.messages[0].message.attributes['sb-subscription'], read.body.messages[0].message.attributes['sb-original-topic']],
      ['shop/worker', 'shop/jobs'],
      'a subscriber of the dead-letter topic sees application/name',
    );
    const dead = await request('GET', api('/shop/subscriptions/worker/dead-letters'), { headers: bearer(appKey) });
    assert.equal(dead.status, 200, dead.text);
    assert.equal(dead.body.messages.length, 1);
    assert.equal(dead.body.messages[0].data, 'poison');
    assert.equal(dead.body.messages[0].attributes['sb-delivery-attempts'], '1');
    assert.equal(dead.body.messages[0].attributes['sb-subscription'], 'shop/worker');
    assert.equal(dead.body.messages[0].attributes['sb-original-topic'], 'shop/jobs');
    assert.equal((await scrape(node.url)).value('switchboard_topic_messages_dead_lettered_total', { subscription: 'shop/worker' }), 1);
  });

  it('deletes subscriptions, topics and applications', async () => {
    assert.equal((await request('DELETE', api('/shop/subscriptions/audit'), { headers: bearer(appKey) })).status, 204);
    assert.equal((await request('GET', api('/shop/subscriptions/audit'), { headers: bearer(appKey) })).status, 404);
    assert.equal((await request('DELETE', api('/shop/topics/events'), { headers: bearer(appKey) })).status, 204);
    assert.equal((await request('GET', api('/shop/subscriptions/replayer'), { headers: bearer(appKey) })).status, 404, "the topic's subscriptions went with it");
    assert.equal((await request('DELETE', api('/applications/analytics'), { headers: bearer(adminKey) })).status, 204);
    assert.equal((await request('GET', api('/applications/analytics'), { headers: bearer(adminKey) })).status, 404);
  });
});
