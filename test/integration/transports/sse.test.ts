import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSse } from '../../helpers/clients.js';
import { get, post, startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

describe('Server-Sent Events at /sse', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'sessions.heartbeatInterval': '150ms', 'sessions.closeGracePeriod': '1s' });
  });
  after(() => t.stop());

  it('answers with an event stream that is neither cached nor buffered', async () => {
    const client = await connectSse(`${t.url}/sse?channels=headers`);
    assert.equal(client.status, 200);
    assert.equal(client.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.match(String(client.headers['cache-control']), /no-cache/);
    assert.equal(client.headers['x-accel-buffering'], 'no');
    client.close();
  });

  it('starts with a retry hint and a welcome event naming the session and its channels', async () => {
    const client = await connectSse(`${t.url}/sse?channels=a,b`);
    const welcome = await client.next((e) => e.event === 'welcome');
    assert.ok(client.raw.startsWith('retry: 1000\n\n'), client.raw);
    const frame = JSON.parse(welcome.data);
    assert.equal(frame.type, 'welcome');
    assert.equal(typeof frame.session, 'string');
    assert.deepEqual(frame.channels, ['a', 'b']);
    assert.equal(frame.heartbeat, 150);
    client.close();
  });

  it('delivers a publication as an event named message carrying the channel and the data', async () => {
    const client = await connectSse(`${t.url}/sse?channels=news`);
    await client.next((e) => e.event === 'welcome');
    const res = await post(`${t.url}/api/publish`, { channel: 'news', data: { title: 'hello', n: 1 } });
    assert.equal(res.body.subscribers, 1);
    const event = await client.next((e) => e.event === 'message');
    assert.deepEqual(JSON.parse(event.data), { channel: 'news', data: { title: 'hello', n: 1 } });
    assert.ok(client.raw.includes('event: message\ndata: {"channel":"news","data":{"title":"hello","n":1}}\n\n'), client.raw);
    client.close();
  });

  it('delivers the publications of a channel in the order they were published', async () => {
    const client = await connectSse(`${t.url}/sse?channels=ordered`);
    await client.next((e) => e.event === 'welcome');
    const items = Array.from({ length: 300 }, (_, i) => ({ channel: 'ordered', data: i }));
    await post(`${t.url}/api/publish`, items);
    await client.next((e) => e.event === 'message' && JSON.parse(e.data).data === 299);
    const received = client.inbox.all.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data).data);
    assert.deepEqual(
      received,
      items.map((i) => i.data),
    );
    client.close();
  });

  it('sends a comment as a heartbeat every interval', async () => {
    const client = await connectSse(`${t.url}/sse?channels=quiet`);
    await client.next((e) => e.event === 'welcome');
    for (let i = 0; i < 3; i++) {
      const heartbeat = await client.next((e) => e.event === 'comment', 2000);
      assert.equal(heartbeat.comment, 'ping');
    }
    assert.ok(client.raw.includes('\n\n: ping\n\n'), client.raw);
    client.close();
  });

  it('stops counting a client as a subscriber once it disconnects', async () => {
    const client = await connectSse(`${t.url}/sse?channels=leaving`);
    await client.next((e) => e.event === 'welcome');
    assert.deepEqual((await get(`${t.url}/api/channels?prefix=leaving`)).body.channels, [{ channel: 'leaving', subscribers: 1 }]);
    client.close();
    await client.ended;
    await waitUntil(async () => (await get(`${t.url}/api/channels?prefix=leaving`)).body.channels.length === 0, 2000, 'the channel to be empty');
    assert.equal((await post(`${t.url}/api/publish`, { channel: 'leaving', data: 'x' })).body.subscribers, 0);
  });
});
