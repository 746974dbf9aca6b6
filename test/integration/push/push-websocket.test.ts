import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';

function publishSeed(baseUrl: string, body: string): Promise<Response> {
  return fetch(`${baseUrl}/messages`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
}

describe('Push-compatible WebSocket at /ws/messages', () => {
  let t: TestNode;
  let fast: TestNode;
  before(async () => {
    t = await startNode();
    fast = await startNode({ 'sessions.heartbeatInterval': '150ms', 'sessions.closeGracePeriod': '150ms' });
  });
  after(async () => {
    await t.stop();
    await fast.stop();
  });

  it('sends {"event":"ping","data":{}} first, then the message exactly as the README shows', async () => {
    const client = await connectWs(`${t.wsUrl}/ws/messages?channels=qwerty,xyz`);
    assert.deepEqual(await client.next(), { event: 'ping', data: {} });
    const res = await publishSeed(t.url, JSON.stringify({ channel: 'qwerty', message: "a message to channel 'qwerty'" }));
    assert.equal(await res.text(), '{"subscribers":1}');
    await client.next((f) => f.event === 'message');
    assert.deepEqual(client.texts, ['{"event":"ping","data":{}}', '{"event":"message","data":{"channel":"qwerty","message":"a message to channel \'qwerty\'"}}']);
    client.close();
  });

  it('keeps a message that is a JSON object an object', async () => {
    const client = await connectWs(`${t.wsUrl}/ws/messages?channels=qwerty`);
    await client.next((f) => f.event === 'ping');
    await publishSeed(t.url, '{"channel":"qwerty","message":{"price":10.5,"tags":["x"]}}');
    const frame = await client.next((f) => f.event === 'message');
    assert.deepEqual(frame, { event: 'message', data: { channel: 'qwerty', message: { price: 10.5, tags: ['x'] } } });
    assert.equal(client.texts.at(-1), '{"event":"message","data":{"channel":"qwerty","message":{"price":10.5,"tags":["x"]}}}');
    client.close();
  });

  it('delivers messages of both channels in publication order', async () => {
    const client = await connectWs(`${t.wsUrl}/ws/messages?channels=qwerty,xyz`);
    await client.next((f) => f.event === 'ping');
    const sent = Array.from({ length: 20 }, (_, i) => ({ channel: i % 3 === 0 ? 'xyz' : 'qwerty', message: i }));
    for (const item of sent) await publishSeed(t.url, JSON.stringify(item));
    await client.next((f) => f.event === 'message' && f.data.message === 19);
    assert.deepEqual(
      client.inbox.all.filter((f) => f.event === 'message').map((f) => f.data),
      sent,
    );
    client.close();
  });

  it('sends the ping event every heartbeat interval', async () => {
    const client = await connectWs(`${fast.wsUrl}/ws/messages?channels=qwerty`);
    for (let i = 0; i < 4; i++) assert.deepEqual(await client.next(undefined, 2000), { event: 'ping', data: {} });
    assert.deepEqual(new Set(client.texts), new Set(['{"event":"ping","data":{}}']));
    client.close();
  });

  it('keeps a client that answers each ping with {"event":"pong"} connected, even without WebSocket pongs', async () => {
    // autoPong off: the only sign of life the server gets is the Push client's {"event":"pong"}.
    const client = await connectWs(`${fast.wsUrl}/ws/messages?channels=qwerty`, { autoPong: false });
    client.ws.on('message', (data) => {
      if (data.toString() === '{"event":"ping","data":{}}') client.send({ event: 'pong' });
    });
    let pings = 0;
    while (pings < 8) {
      await client.next((f) => f.event === 'ping', 2000);
      pings += 1;
    }
    assert.equal(client.ws.readyState, client.ws.OPEN);
    await publishSeed(fast.url, '{"channel":"qwerty","message":"still here"}');
    assert.equal((await client.next((f) => f.event === 'message')).data.message, 'still here');
    client.close();
  });

  it('closes a client that answers neither pings nor ping events', async () => {
    const client = await connectWs(`${fast.wsUrl}/ws/messages?channels=qwerty`, { autoPong: false });
    const closed = await client.closed;
    assert.equal(closed.code, 4004);
    assert.equal(closed.reason, 'idle_timeout');
    assert.ok(
      client.texts.every((text) => text === '{"event":"ping","data":{}}'),
      JSON.stringify(client.texts),
    );
  });
});
