import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

const adminKey = 'admin-key-topics-overview';
const readOnlyKey = 'read-only-key-topics-overview';

describe('GET /api/admin/topics', () => {
  let node: TestNode;
  const api = (path: string) => `${node.url}/api/topics${path}`;
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  before(async () => {
    node = await startNode({
      'api.insecure': false,
      'api.keys': [adminKey],
      'admin.enabled': true,
      'admin.readOnlyKeys': [readOnlyKey],
      'admin.sampleInterval': '100ms',
      'topics.store': 'memory',
    });
    const post = (path: string, body: unknown) => request('POST', api(path), { body, headers: as(adminKey) });
    await post('/applications', { id: 'shop' });
    await post('/shop/topics', { name: 'jobs' });
    await post('/shop/topics', { name: 'jobs-dead' });
    await post('/shop/subscriptions', { name: 'worker', topic: 'jobs', maxDeliveryAttempts: 1, deadLetterTopic: 'jobs-dead' });
    await post('/shop/subscriptions', { name: 'auditor', topic: 'jobs' });
    await post('/shop/topics/jobs/publish', { messages: [{ data: 'poison' }, { data: 'fine' }, { data: 'later' }] });
    const pulled = await post('/shop/subscriptions/worker/pull', { maxMessages: 3, waitMs: 1000 });
    const [poison, ...rest] = pulled.body.messages;
    await post('/shop/subscriptions/worker/nack', { ackIds: [poison.ackId] });
    await post('/shop/subscriptions/worker/ack', { ackIds: rest.map((m: { ackId: string }) => m.ackId) });
    // The next pull finds the nacked message out of attempts and moves it to the dead letters.
    await post('/shop/subscriptions/worker/pull', { maxMessages: 1, waitMs: 300 });
  });
  after(() => node?.stop());

  it('lists applications, topics and the subscriptions reading each with backlog, age, ack rate and dead letters', async () => {
    let overview: any;
    await waitUntil(
      async () => {
        overview = (await request('GET', `${node.url}/api/admin/topics`, { headers: as(readOnlyKey) })).body;
        return overview.applications[0].topics[0].subscriptions.find((s: { name: string }) => s.name === 'worker').ackedPerSecond > 0;
      },
      5000,
      'the ack rate of the worker',
    );
    const [shop] = overview.applications;
    assert.equal(shop.id, 'shop');
    assert.deepEqual(
      shop.topics.map((t: { name: string }) => t.name),
      ['jobs', 'jobs-dead'],
    );
    const [jobs] = shop.topics;
    assert.equal(jobs.messages, 3);
    const subs = Object.fromEntries(jobs.subscriptions.map((s: { name: string }) => [s.name, s]));
    assert.equal(subs.worker.backlog, 0);
    assert.equal(subs.worker.deadLetters, 1);
    assert.equal(subs.worker.deadLetterTopic, 'jobs-dead');
    assert.equal(subs.auditor.backlog, 3);
    assert.ok(subs.auditor.oldestUnackedAgeMs >= 0);
    assert.equal(subs.auditor.deadLetters, 0);
    assert.equal(subs.auditor.application, 'shop');
  });

  it('the dead-letter listing of the topics API takes the server admin key and the read-only key', async () => {
    for (const key of [adminKey, readOnlyKey]) {
      const dead = await request('GET', api('/shop/subscriptions/worker/dead-letters'), { headers: as(key) });
      assert.equal(dead.status, 200, dead.text);
      assert.equal(dead.body.messages[0].data, 'poison');
    }
  });
});
