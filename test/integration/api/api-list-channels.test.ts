import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSse, connectWs } from '../../helpers/clients.js';
import { get, startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

describe('listing channels with GET /api/channels', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'channels.namespaces': { chat: {}, feed: {} } });
  });
  after(() => t.stop());

  it('lists channels that have local subscribers, sorted, with their counts', async () => {
    assert.deepEqual((await get(`${t.url}/api/channels`)).body.channels, []);
    const a = await connectWs(`${t.wsUrl}/ws?channels=chat:2,chat:1`);
    const b = await connectWs(`${t.wsUrl}/ws?channels=chat:1,feed:x`);
    const c = await connectSse(`${t.url}/sse?channels=chat:1,lobby`);
    try {
      await a.next((f) => f.type === 'welcome');
      await b.next((f) => f.type === 'welcome');
      await c.next((e) => e.event === 'welcome');
      const res = await get(`${t.url}/api/channels`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.channels, [
        { channel: 'chat:1', subscribers: 3 },
        { channel: 'chat:2', subscribers: 1 },
        { channel: 'feed:x', subscribers: 1 },
        { channel: 'lobby', subscribers: 1 },
      ]);

      const chat = await get(`${t.url}/api/channels?prefix=chat:`);
      assert.deepEqual(chat.body.channels, [
        { channel: 'chat:1', subscribers: 3 },
        { channel: 'chat:2', subscribers: 1 },
      ]);
      assert.deepEqual((await get(`${t.url}/api/channels?prefix=nothing`)).body.channels, []);

      a.close();
      await waitUntil(async () => (await get(`${t.url}/api/channels?prefix=chat:`)).body.channels.length === 1, 5000, 'chat:2 to go away');
      assert.deepEqual((await get(`${t.url}/api/channels?prefix=chat:`)).body.channels, [{ channel: 'chat:1', subscribers: 2 }]);
    } finally {
      for (const client of [a, b, c]) client.close();
    }
  });
});
