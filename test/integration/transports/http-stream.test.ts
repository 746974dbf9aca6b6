import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNdjson } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';

describe('HTTP streaming of newline-delimited JSON at /stream', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'sessions.heartbeatInterval': '150ms' });
  });
  after(() => t.stop());

  it('answers with an NDJSON stream that is neither cached nor buffered', async () => {
    const client = await connectNdjson(`${t.url}/stream?channels=headers`);
    assert.equal(client.status, 200);
    assert.equal(client.headers['content-type'], 'application/x-ndjson; charset=utf-8');
    assert.match(String(client.headers['cache-control']), /no-cache/);
    assert.equal(client.headers['x-accel-buffering'], 'no');
    client.close();
  });

  it('starts with a welcome line naming the session and its channels', async () => {
    const client = await connectNdjson(`${t.url}/stream?channels=a,b&channel=c`);
    const welcome = await client.next();
    assert.equal(welcome.type, 'welcome');
    assert.equal(typeof welcome.session, 'string');
    assert.deepEqual(welcome.channels, ['a', 'b', 'c']);
    assert.equal(welcome.heartbeat, 150);
    client.close();
  });

  it('delivers each publication as one JSON line with the channel and the data', async () => {
    const client = await connectNdjson(`${t.url}/stream?channels=news`);
    await client.next((f) => f.type === 'welcome');
    const res = await post(`${t.url}/api/publish`, { channel: 'news', data: ['x', { y: null }] });
    assert.equal(res.body.subscribers, 1);
    assert.deepEqual(await client.next((f) => f.type === 'message'), { type: 'message', channel: 'news', data: ['x', { y: null }] });
    assert.ok(client.raw.includes('{"type":"message","channel":"news","data":["x",{"y":null}]}\n'), client.raw);
    client.close();
  });

  it('delivers the publications of a channel in the order they were published', async () => {
    const client = await connectNdjson(`${t.url}/stream?channels=ordered`);
    await client.next((f) => f.type === 'welcome');
    const items = Array.from({ length: 300 }, (_, i) => ({ channel: 'ordered', data: `m${i}` }));
    await post(`${t.url}/api/publish`, items);
    await client.next((f) => f.type === 'message' && f.data === 'm299');
    const received = client.inbox.all.filter((f) => f.type === 'message').map((f) => f.data);
    assert.deepEqual(
      received,
      items.map((i) => i.data),
    );
    client.close();
  });

  it('sends a ping line as a heartbeat every interval', async () => {
    const client = await connectNdjson(`${t.url}/stream?channels=quiet`);
    await client.next((f) => f.type === 'welcome');
    for (let i = 0; i < 3; i++) assert.deepEqual(await client.next((f) => f.type === 'ping', 2000), { type: 'ping' });
    assert.ok(client.raw.includes('\n{"type":"ping"}\n'), client.raw);
    client.close();
  });
});
