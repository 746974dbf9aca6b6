import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSse, connectWs } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';

/** The body of the Push README's curl example, as the shell passes it on. */
const seedBody = '{"channel":"qwerty","message":"a message to channel qwerty"}';

async function postRaw(url: string, body: string): Promise<{ status: number; contentType: string | null; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}

describe('Push-compatible publishing with POST /messages', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode();
  });
  after(() => t.stop());

  it('answers the README example with exactly {"subscribers":0} when nobody listens', async () => {
    const res = await postRaw(`${t.url}/messages`, seedBody);
    assert.equal(res.status, 200);
    assert.match(String(res.contentType), /^application\/json/);
    assert.equal(res.text, '{"subscribers":0}');
  });

  it('counts the SSE and WebSocket subscribers of the channel it reached', async () => {
    const sse = await connectSse(`${t.url}/sse/messages?channels=xyz,qwerty`);
    const ws = await connectWs(`${t.wsUrl}/ws/messages?channels=qwerty,xyz`);
    const native = await connectWs(`${t.wsUrl}/ws?channels=qwerty`);
    await sse.next((e) => e.event === 'heartbeat');
    await ws.next((f) => f.event === 'ping');
    await native.next((f) => f.type === 'welcome');
    const res = await postRaw(`${t.url}/messages`, seedBody);
    assert.equal(res.text, '{"subscribers":3}');
    const other = await postRaw(`${t.url}/messages`, '{"channel":"elsewhere","message":"x"}');
    assert.equal(other.text, '{"subscribers":0}');
    sse.close();
    ws.close();
    native.close();
  });

  it('keeps the JSON type of message for every kind of subscriber', async () => {
    const sse = await connectSse(`${t.url}/sse/messages?channels=typed`);
    const ws = await connectWs(`${t.wsUrl}/ws/messages?channels=typed`);
    const native = await connectWs(`${t.wsUrl}/ws?channels=typed`);
    await sse.next((e) => e.event === 'heartbeat');
    await ws.next((f) => f.event === 'ping');
    await native.next((f) => f.type === 'welcome');
    const messages = [{ text: 'hi', tags: ['a'], nested: { n: 1.5, ok: true } }, 42, 'a string', [1, 'two'], false, null];
    for (const message of messages) {
      const res = await postRaw(`${t.url}/messages`, JSON.stringify({ channel: 'typed', message }));
      assert.equal(res.text, '{"subscribers":3}');
    }
    await sse.next((e) => e.event === 'message' && JSON.parse(e.data).message === null);
    await ws.next((f) => f.event === 'message' && f.data.message === null);
    await native.next((f) => f.type === 'message' && f.data === null);
    assert.deepEqual(
      sse.inbox.all.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data)),
      messages.map((message) => ({ channel: 'typed', message })),
    );
    assert.deepEqual(
      ws.inbox.all.filter((f) => f.event === 'message').map((f) => f.data),
      messages.map((message) => ({ channel: 'typed', message })),
    );
    assert.deepEqual(
      native.inbox.all.filter((f) => f.type === 'message').map((f) => f.data),
      messages,
    );
    assert.equal(ws.texts.at(-1), '{"event":"message","data":{"channel":"typed","message":null}}');
    assert.ok(ws.texts.includes('{"event":"message","data":{"channel":"typed","message":{"text":"hi","tags":["a"],"nested":{"n":1.5,"ok":true}}}}'));
    sse.close();
    ws.close();
    native.close();
  });

  it('refuses a body without a message or with an invalid channel with a bad_request error', async () => {
    const missing = await postRaw(`${t.url}/messages`, '{"channel":"qwerty"}');
    assert.equal(missing.status, 400);
    assert.equal(JSON.parse(missing.text).error.code, 'bad_request');
    const badChannel = await postRaw(`${t.url}/messages`, '{"channel":"not valid!","message":"x"}');
    assert.equal(badChannel.status, 400);
    assert.equal(JSON.parse(badChannel.text).error.code, 'bad_request');
  });
});
