import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSse, connectWs, type WsClient } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

describe('Namespace permissions for clients', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({
      'channels.namespaces': {
        feed: { subscribe: 'server' },
        room: { publish: 'public' },
      },
    });
  });
  after(() => t.stop());

  async function client(query = ''): Promise<WsClient> {
    const c = await connectWs(`${t.wsUrl}/ws${query}`);
    await c.next((f) => f.type === 'welcome');
    return c;
  }

  it('refuses a client subscribe frame to a namespace with subscribe: server with forbidden', async () => {
    const c = await client();
    const before = (await scrape(t.url)).value('switchboard_errors_total', { code: 'forbidden' });
    c.send({ type: 'subscribe', id: 1, channel: 'feed:prices' });
    const reply = await c.next((f) => f.type === 'reply');
    assert.equal(reply.id, 1);
    assert.equal(reply.error.code, 'forbidden');
    assert.equal((await scrape(t.url)).value('switchboard_errors_total', { code: 'forbidden' }), before + 1);
    const res = await post(`${t.url}/api/publish`, { channel: 'feed:prices', data: 1 });
    assert.equal(res.body.subscribers, 0);
    c.close();
  });

  it('refuses a WebSocket upgrade or SSE request naming such a channel with HTTP 403', async () => {
    await assert.rejects(connectWs(`${t.wsUrl}/ws?channels=ok,feed:prices`), (err: any) => {
      assert.equal(err.status, 403);
      assert.equal(JSON.parse(err.body).error.code, 'forbidden');
      return true;
    });
    const res = await fetch(`${t.url}/sse?channels=feed:prices`);
    assert.equal(res.status, 403);
    assert.equal((await res.json()).error.code, 'forbidden');
  });

  it('lets a client publish to a namespace with publish: public, replying with the subscriber count', async () => {
    const listener = await client('?channels=room:lobby');
    const sse = await connectSse(`${t.url}/sse?channels=room:lobby`);
    await sse.next((e) => e.event === 'welcome');
    const publisher = await client();
    publisher.send({ type: 'publish', id: 'p1', channel: 'room:lobby', data: { text: 'hello' } });
    assert.deepEqual(await publisher.next((f) => f.type === 'reply'), { type: 'reply', id: 'p1', data: { subscribers: 2 } });
    assert.deepEqual(await listener.next((f) => f.type === 'message'), { type: 'message', channel: 'room:lobby', data: { text: 'hello' } });
    assert.deepEqual(JSON.parse((await sse.next((e) => e.event === 'message')).data), { channel: 'room:lobby', data: { text: 'hello' } });
    assert.ok((await scrape(t.url)).value('switchboard_publications_total', { source: 'client' }) >= 1);
    listener.close();
    publisher.close();
    sse.close();
  });

  it('publishes without a reply when the publish frame has no id', async () => {
    const listener = await client('?channels=room:quiet');
    const publisher = await client();
    publisher.send({ type: 'publish', channel: 'room:quiet', data: 1 });
    publisher.send({ type: 'ping', id: 'after' });
    await listener.next((f) => f.type === 'message' && f.data === 1);
    await publisher.next((f) => f.type === 'pong');
    assert.equal(publisher.inbox.all.filter((f) => f.type === 'reply').length, 0);
    listener.close();
    publisher.close();
  });

  it('refuses a client publish to a channel of the default namespace with forbidden', async () => {
    const listener = await client('?channels=plain');
    const publisher = await client();
    publisher.send({ type: 'publish', id: 2, channel: 'plain', data: 'nope' });
    const reply = await publisher.next((f) => f.type === 'reply');
    assert.equal(reply.id, 2);
    assert.equal(reply.error.code, 'forbidden');
    publisher.send({ type: 'publish', id: 3, channel: 'feed:prices', data: 'nope' });
    assert.equal((await publisher.next((f) => f.type === 'reply' && f.id === 3)).error.code, 'forbidden');
    await post(`${t.url}/api/publish`, { channel: 'plain', data: 'from the api' });
    assert.equal((await listener.next((f) => f.type === 'message')).data, 'from the api');
    assert.equal(listener.inbox.all.filter((f) => f.type === 'message').length, 1);
    listener.close();
    publisher.close();
  });
});
