import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';

describe('WebSocket subscriptions', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode();
  });
  after(() => t.stop());

  it('welcomes a client and delivers publications to channels named in the query', async () => {
    const client = await connectWs(`${t.wsUrl}/ws?channels=news,sport`);
    const welcome = await client.next((f) => f.type === 'welcome');
    assert.deepEqual(welcome.channels, ['news', 'sport']);
    assert.equal(typeof welcome.session, 'string');
    const res = await post(`${t.url}/api/publish`, { channel: 'sport', data: { score: [1, 0] } });
    assert.deepEqual(res.body, { channel: 'sport', subscribers: 1 });
    assert.deepEqual(await client.next((f) => f.type === 'message'), { type: 'message', channel: 'sport', data: { score: [1, 0] } });
    client.close();
  });

  it('subscribes and unsubscribes with frames, answering each with its id', async () => {
    const client = await connectWs(`${t.wsUrl}/ws`);
    client.send({ type: 'subscribe', id: 1, channel: 'room' });
    assert.deepEqual(await client.next((f) => f.type === 'subscribed'), { type: 'subscribed', id: 1, channel: 'room' });
    await post(`${t.url}/api/publish`, { channel: 'room', data: 'first' });
    assert.equal((await client.next((f) => f.type === 'message')).data, 'first');
    client.send({ type: 'unsubscribe', id: 'u', channel: 'room' });
    assert.deepEqual(await client.next((f) => f.type === 'unsubscribed'), { type: 'unsubscribed', id: 'u', channel: 'room' });
    const res = await post(`${t.url}/api/publish`, { channel: 'room', data: 'second' });
    assert.equal(res.body.subscribers, 0);
    client.send({ type: 'ping', id: 9 });
    assert.deepEqual(await client.next((f) => f.type === 'pong'), { type: 'pong', id: 9 });
    assert.equal(client.inbox.all.filter((f) => f.type === 'message').length, 1);
    client.close();
  });

  it('delivers publications of one channel in the order they were published', async () => {
    const client = await connectWs(`${t.wsUrl}/ws?channels=ordered`);
    await client.next((f) => f.type === 'welcome');
    const items = Array.from({ length: 500 }, (_, i) => ({ channel: 'ordered', data: i }));
    await post(`${t.url}/api/publish`, items);
    await client.next((f) => f.type === 'message' && f.data === 499);
    const received = client.inbox.all.filter((f) => f.type === 'message').map((f) => f.data);
    assert.deepEqual(
      received,
      items.map((i) => i.data),
    );
    client.close();
  });
});
