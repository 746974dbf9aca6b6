import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';

describe('POST /api/topics/:app/subscriptions/:sub/dead-letters/replay', () => {
  let node: TestNode;
  const api = (path: string) => `${node.url}/api/topics${path}`;
  const post = (path: string, body: unknown) => request('POST', api(path), { body });

  before(async () => {
    node = await startNode({ 'topics.store': 'memory' });
    await post('/applications', { id: 'shop' });
    await post('/shop/topics', { name: 'jobs' });
    await post('/shop/topics', { name: 'jobs-dead' });
    await post('/shop/subscriptions', { name: 'worker', topic: 'jobs', maxDeliveryAttempts: 1, deadLetterTopic: 'jobs-dead' });
    await post('/shop/topics/jobs/publish', { data: 'poison', attributes: { kind: 'order' } });
    const pulled = await post('/shop/subscriptions/worker/pull', { maxMessages: 1, waitMs: 1000 });
    await post('/shop/subscriptions/worker/nack', { ackIds: [pulled.body.messages[0].ackId] });
    await post('/shop/subscriptions/worker/pull', { maxMessages: 1, waitMs: 300 });
  });
  after(() => node?.stop());

  it('publishes a dead letter again on the topic, where the subscription receives it with fresh attempts, once', async () => {
    const [letter] = (await request('GET', api('/shop/subscriptions/worker/dead-letters'))).body.messages;
    const replayed = await post('/shop/subscriptions/worker/dead-letters/replay', { ids: [letter.id] });
    assert.deepEqual(replayed.body, { replayed: 1, duplicates: 0 });
    const pulled = await post('/shop/subscriptions/worker/pull', { maxMessages: 1, waitMs: 1000 });
    const [received] = pulled.body.messages;
    assert.equal(received.message.data, 'poison');
    assert.deepEqual(received.message.attributes, { kind: 'order', 'sb-replay-of': letter.id });
    assert.equal(received.attempt, 1);
    assert.deepEqual((await post('/shop/subscriptions/worker/dead-letters/replay', {})).body, { replayed: 0, duplicates: 1 });
  });

  it('answers 404 for a subscription without a dead-letter topic and 400 for ids that are no list', async () => {
    await post('/shop/subscriptions', { name: 'plain', topic: 'jobs' });
    const none = await post('/shop/subscriptions/plain/dead-letters/replay', {});
    assert.equal(none.status, 404);
    assertErrorBody(none.body, 'not_found');
    const bad = await post('/shop/subscriptions/worker/dead-letters/replay', { ids: 'all' });
    assert.equal(bad.status, 400);
    assertErrorBody(bad.body, 'bad_request');
  });
});
