import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSse } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';

function publishSeed(baseUrl: string, body: string): Promise<Response> {
  return fetch(`${baseUrl}/messages`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
}

describe('Push-compatible Server-Sent Events at /sse/messages', () => {
  let t: TestNode;
  let fast: TestNode;
  before(async () => {
    t = await startNode();
    fast = await startNode({ 'sessions.heartbeatInterval': '150ms' });
  });
  after(async () => {
    await t.stop();
    await fast.stop();
  });

  it('streams exactly the bytes the README shows: a heartbeat, then the message', async () => {
    const client = await connectSse(`${t.url}/sse/messages?channels=xyz,qwerty`);
    assert.equal(client.status, 200);
    assert.match(String(client.headers['content-type']), /^text\/event-stream/);
    const first = await client.next();
    assert.deepEqual(first, { event: 'heartbeat', data: '{}' });
    assert.equal(client.raw, 'event:heartbeat\ndata:{}\n\n');
    const res = await publishSeed(t.url, '{"channel":"qwerty","message":"a message to channel qwerty"}');
    assert.equal(await res.text(), '{"subscribers":1}');
    const message = await client.next();
    assert.deepEqual(message, { event: 'message', data: '{"channel":"qwerty","message":"a message to channel qwerty"}' });
    assert.equal(client.raw, 'event:heartbeat\ndata:{}\n\nevent:message\ndata:{"channel":"qwerty","message":"a message to channel qwerty"}\n\n');
    client.close();
  });

  it('delivers messages of both channels in the query, each naming its channel, in publication order', async () => {
    const client = await connectSse(`${t.url}/sse/messages?channels=xyz,qwerty`);
    await client.next((e) => e.event === 'heartbeat');
    const sent: { channel: string; message: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const item = { channel: i % 2 === 0 ? 'xyz' : 'qwerty', message: `m${i}` };
      sent.push(item);
      await publishSeed(t.url, JSON.stringify(item));
    }
    await client.next((e) => e.event === 'message' && JSON.parse(e.data).message === 'm19');
    const received = client.inbox.all.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data));
    assert.deepEqual(received, sent);
    client.close();
  });

  it('repeats the heartbeat event with data {} every heartbeat interval', async () => {
    const client = await connectSse(`${fast.url}/sse/messages?channels=qwerty`);
    for (let i = 0; i < 4; i++) assert.deepEqual(await client.next(undefined, 2000), { event: 'heartbeat', data: '{}' });
    assert.equal(client.raw, 'event:heartbeat\ndata:{}\n\n'.repeat(4));
    client.close();
  });

  it('sends nothing but heartbeats and messages: no welcome or other protocol events', async () => {
    const client = await connectSse(`${fast.url}/sse/messages?channels=only`);
    await publishSeed(fast.url, '{"channel":"only","message":{"k":"v"}}');
    await client.next((e) => e.event === 'message');
    await client.next((e) => e.event === 'heartbeat' && client.inbox.all.filter((x) => x.event === 'heartbeat').length >= 2, 2000);
    assert.deepEqual(new Set(client.inbox.all.map((e) => e.event)), new Set(['heartbeat', 'message']));
    assert.ok(client.raw.includes('event:message\ndata:{"channel":"only","message":{"k":"v"}}\n\n'), client.raw);
    client.close();
  });
});
