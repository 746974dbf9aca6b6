import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SwitchboardApi, SwitchboardApiError } from '../../../src/api-client/index.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';

/** The typed API client (switchboard/api) against an in-process node with a key, history, presence, topics and the gateway. */
describe('the typed API client against a real node', () => {
  let t: TestNode;
  let api: SwitchboardApi;
  let ws: WsClient;

  before(async () => {
    t = await startNode({
      'api.insecure': false,
      'api.keys': ['admin-key'],
      'channels.namespaces': { chat: { presence: true, historySize: 5 } },
      'gateway.enabled': true,
      'security.allowedPrivateTargets': ['127.0.0.1'],
    });
    api = new SwitchboardApi({ url: t.url, key: 'admin-key' });
    ws = await connectWs(`${t.wsUrl}/ws?channels=chat:room`);
    await ws.next((f) => f.type === 'welcome');
  });
  after(async () => {
    ws?.close();
    await t?.stop();
  });

  it('publishes one publication, a batch and a broadcast', async () => {
    const one = await api.publish('chat:room', { text: 'hello' });
    assert.equal(one.channel, 'chat:room');
    assert.equal(one.subscribers, 1);
    assert.equal(typeof one.offset, 'number');
    const frame = await ws.next((f) => f.type === 'message');
    assert.deepEqual(frame.data, { text: 'hello' });

    const batch = await api.publishBatch([
      { channel: 'chat:room', data: 1 },
      { channel: 'bad channel!', data: 2 },
    ]);
    assert.equal(batch.length, 2);
    assert.ok('subscribers' in batch[0]!);
    assert.ok('error' in batch[1]! && batch[1].error.code === 'bad_request');

    const broadcast = await api.broadcast(['chat:room', 'chat:other'], 3);
    assert.deepEqual(
      broadcast.map((r) => r.channel),
      ['chat:room', 'chat:other'],
    );
  });

  it('reads sessions, presence and history', async () => {
    const [session] = await api.sessions({ channel: 'chat:room' });
    assert.ok(session);
    assert.deepEqual(session.channels, ['chat:room']);
    assert.equal((await api.session(session.id)).id, session.id);
    assert.equal((await api.sendToSession(session.id, { note: 'hi' })).sessions, 1);

    const members = await api.presence('chat:room');
    assert.deepEqual(
      members.map((m) => m.session),
      [session.id],
    );
    assert.equal((await api.presenceStats('chat:room')).sessions, 1);

    const history = await api.history('chat:room', { limit: 2 });
    assert.equal(history.channel, 'chat:room');
    assert.equal(history.publications.length, 2);
    const since = await api.history('chat:room', { since: { offset: history.offset - 1, epoch: history.epoch } });
    assert.equal(since.publications.length, 1);
  });

  it("revokes a user's tokens", async () => {
    const revoked = await api.revoke({ user: 'mallory', expiresIn: 60 });
    assert.equal(revoked.user, 'mallory');
    assert.ok(Date.parse(revoked.expiresAt) > Date.now());
  });

  it('publishes to a topic once per idempotency key, pulls and acknowledges', async () => {
    await api.request('POST', '/api/topics/applications', { id: 'shop' });
    await api.request('POST', '/api/topics/shop/topics', { name: 'orders' });
    await api.request('POST', '/api/topics/shop/subscriptions', { name: 'billing', topic: 'orders' });

    const first = await api.topics.publish('shop', 'orders', { data: { order: 42 }, idempotencyKey: 'order-42' });
    const again = await api.topics.publish('shop', 'orders', { data: { order: 42 }, idempotencyKey: 'order-42' });
    assert.equal(first.duplicate, false);
    assert.equal(again.duplicate, true);
    assert.equal(again.id, first.id);
    const generated = await api.topics.publishBatch('shop', 'orders', [{ data: 1 }, { data: 2 }]);
    assert.ok(generated.every((r) => 'duplicate' in r && !r.duplicate));

    const received = await api.topics.pull('shop', 'billing', { maxMessages: 10, waitMs: 1000 });
    assert.deepEqual(
      received.map((r) => r.message.data),
      [{ order: 42 }, 1, 2],
    );
    const acked = await api.topics.ack(
      'shop',
      'billing',
      received.map((r) => r.ackId),
    );
    assert.ok(acked.every((r) => r.ok === true));
    assert.deepEqual(await api.topics.pull('shop', 'billing', { waitMs: 0 }), []);
  });

  it('registers, heartbeats, lists and deregisters a gateway instance', async () => {
    const { created, instance } = await api.registry.register('orders', { url: 'http://127.0.0.1:1', id: 'orders-1', ttl: 60_000 });
    assert.equal(created, true);
    assert.equal(instance.id, 'orders-1');
    assert.ok((await api.registry.services()).some((s) => s.name === 'orders'));
    assert.equal((await api.registry.service('orders')).instances.length, 1);
    assert.equal((await api.registry.heartbeat('orders', 'orders-1')).id, 'orders-1');
    await api.registry.deregister('orders', 'orders-1');
    await assert.rejects(api.registry.heartbeat('orders', 'orders-1'), (err: SwitchboardApiError) => err.code === 'not_found' && err.status === 404);
  });

  it('throws error answers as SwitchboardApiError with their stable code', async () => {
    await assert.rejects(api.publish('', 1), (err) => err instanceof SwitchboardApiError && err.code === 'bad_request' && err.status === 400);
    const stranger = new SwitchboardApi({ url: t.url, key: 'wrong-key' });
    await assert.rejects(stranger.sessions(), (err) => err instanceof SwitchboardApiError && err.code === 'unauthorized' && err.status === 401);
  });
});
