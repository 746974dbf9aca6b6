import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNdjson, connectSse, connectWs } from '../../helpers/clients.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';

describe('publishing one publication with POST /api/publish', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'channels.namespaces': { chat: {} } });
  });
  after(() => t.stop());

  it('answers the channel and the number of local subscribers it reached', async () => {
    const a = await connectWs(`${t.wsUrl}/ws?channels=scores`);
    const b = await connectWs(`${t.wsUrl}/ws`);
    const sse = await connectSse(`${t.url}/sse?channels=scores`);
    const stream = await connectNdjson(`${t.url}/stream?channels=scores,other`);
    try {
      await a.next((f) => f.type === 'welcome');
      b.send({ type: 'subscribe', id: 1, channel: 'scores' });
      await b.next((f) => f.type === 'subscribed');
      await sse.next((e) => e.event === 'welcome');
      await stream.next((f) => f.type === 'welcome');

      const res = await post(`${t.url}/api/publish`, { channel: 'scores', data: { home: 2, away: 1 } });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { channel: 'scores', subscribers: 4 });

      for (const ws of [a, b]) {
        const message = await ws.next((f) => f.type === 'message');
        assert.equal(message.channel, 'scores');
        assert.deepEqual(message.data, { home: 2, away: 1 });
      }
      const event = await sse.next((e) => e.event === 'message');
      assert.deepEqual(JSON.parse(event.data).data, { home: 2, away: 1 });
      assert.deepEqual((await stream.next((f) => f.type === 'message')).data, { home: 2, away: 1 });

      b.send({ type: 'unsubscribe', id: 2, channel: 'scores' });
      await b.next((f) => f.type === 'unsubscribed');
      assert.deepEqual((await post(`${t.url}/api/publish`, { channel: 'scores', data: 2 })).body, { channel: 'scores', subscribers: 3 });
    } finally {
      for (const c of [a, b, sse, stream]) c.close();
    }
  });

  it('answers zero subscribers for a channel nobody listens to', async () => {
    assert.deepEqual((await post(`${t.url}/api/publish`, { channel: 'empty', data: 'x' })).body, { channel: 'empty', subscribers: 0 });
  });

  it('delivers data of every JSON type unchanged', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws?channels=chat:typed`);
    try {
      await ws.next((f) => f.type === 'welcome');
      const values = [{ nested: { list: [1, 'two', null] } }, [1, 2], 'text', 0, -1.5, true, false, null];
      for (const data of values) {
        const res = await post(`${t.url}/api/publish`, { channel: 'chat:typed', data });
        assert.equal(res.status, 200);
      }
      const received = [];
      for (let i = 0; i < values.length; i++) received.push((await ws.next((f) => f.type === 'message')).data);
      assert.deepEqual(received, values);
    } finally {
      ws.close();
    }
  });

  it('refuses a publication without data', async () => {
    const res = await post(`${t.url}/api/publish`, { channel: 'news' });
    assert.equal(res.status, 400);
    assertErrorBody(res.body, 'bad_request');
    assert.match(res.body.error.message, /data/);
  });

  it('refuses a body that is not a publication object', async () => {
    for (const body of ['"news"', '42', 'null', 'true']) {
      const res = await request('POST', `${t.url}/api/publish`, { body });
      assert.equal(res.status, 400, body);
      assertErrorBody(res.body, 'bad_request');
    }
  });

  it('refuses invalid channel names with bad_request and unknown namespaces with not_found', async () => {
    for (const channel of ['', 'has space', 'x'.repeat(256), 42, null, ['news']]) {
      const res = await post(`${t.url}/api/publish`, { channel, data: 1 });
      assert.equal(res.status, 400, JSON.stringify(channel));
      assertErrorBody(res.body, 'bad_request');
    }
    const res = await post(`${t.url}/api/publish`, { channel: 'game:1', data: 1 });
    assert.equal(res.status, 404);
    assertErrorBody(res.body, 'not_found');
    assert.match(res.body.error.message, /namespace "game"/);
  });
});
