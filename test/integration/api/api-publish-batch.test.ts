import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { assertErrorBody } from '../../helpers/http.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

describe('publishing a batch with an array body', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'channels.namespaces': { chat: {} }, 'api.maxBatchSize': 5 });
  });
  after(() => t.stop());

  it('answers one result per item, in order, and a bad item does not stop the rest', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws?channels=batch,chat:b`);
    try {
      await ws.next((f) => f.type === 'welcome');
      const res = await post(`${t.url}/api/publish`, [
        { channel: 'batch', data: 1 },
        { channel: 'bad name', data: 'x' },
        { channel: 'chat:b', data: 2 },
        { channel: 'nowhere:1', data: 'y' },
        { channel: 'batch' },
      ]);
      assert.equal(res.status, 200);
      assert.equal(res.body.results.length, 5);
      const [first, badName, third, unknownNamespace, noData] = res.body.results;
      assert.deepEqual(first, { channel: 'batch', subscribers: 1 });
      assert.equal(badName.channel, 'bad name');
      assert.equal(badName.error.code, 'bad_request');
      assert.deepEqual(third, { channel: 'chat:b', subscribers: 1 });
      assert.equal(unknownNamespace.channel, 'nowhere:1');
      assert.equal(unknownNamespace.error.code, 'not_found');
      assert.equal(noData.channel, 'batch');
      assert.equal(noData.error.code, 'bad_request');
      for (const failed of [badName, unknownNamespace, noData]) assert.deepEqual(Object.keys(failed.error).sort(), ['code', 'message']);

      await ws.next((f) => f.type === 'message' && f.data === 2);
      const received = ws.inbox.all.filter((f) => f.type === 'message').map((f) => [f.channel, f.data]);
      assert.deepEqual(received, [
        ['batch', 1],
        ['chat:b', 2],
      ]);
    } finally {
      ws.close();
    }
  });

  it('gives an item that is not an object its own error', async () => {
    const res = await post(`${t.url}/api/publish`, ['news', { channel: 'news', data: 1 }, null]);
    assert.equal(res.status, 200);
    const [text, ok, nothing] = res.body.results;
    assert.equal(text.error.code, 'bad_request');
    assert.deepEqual(ok, { channel: 'news', subscribers: 0 });
    assert.equal(nothing.error.code, 'bad_request');
  });

  it('answers an empty batch with no results', async () => {
    assert.deepEqual((await post(`${t.url}/api/publish`, [])).body, { results: [] });
  });

  it('accepts api.maxBatchSize items and refuses one more with 413 too_large, counting the limit', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws?channels=limited`);
    try {
      await ws.next((f) => f.type === 'welcome');
      const before = await scrape(t.url);
      const five = Array.from({ length: 5 }, (_, i) => ({ channel: 'limited', data: i }));
      assert.equal((await post(`${t.url}/api/publish`, five)).body.results.length, 5);

      const six = Array.from({ length: 6 }, (_, i) => ({ channel: 'limited', data: 100 + i }));
      const res = await post(`${t.url}/api/publish`, six);
      assert.equal(res.status, 413);
      assertErrorBody(res.body, 'too_large');
      assert.match(res.body.error.message, /api\.maxBatchSize/);

      const after = await scrape(t.url);
      assert.equal(after.value('switchboard_limit_hits_total', { limit: 'batch_size' }) - before.value('switchboard_limit_hits_total', { limit: 'batch_size' }), 1);
      assert.equal(after.value('switchboard_limit_hits_total', { limit: 'body_size' }), before.value('switchboard_limit_hits_total', { limit: 'body_size' }));
      assert.equal(after.value('switchboard_errors_total', { code: 'too_large' }) - before.value('switchboard_errors_total', { code: 'too_large' }), 1);
      assert.equal(after.value('switchboard_publications_total', { source: 'api' }) - before.value('switchboard_publications_total', { source: 'api' }), 5);

      // Nothing of the refused batch went out: the next publication follows the first five directly.
      await post(`${t.url}/api/publish`, { channel: 'limited', data: 'marker' });
      await ws.next((f) => f.type === 'message' && f.data === 'marker');
      const received = ws.inbox.all.filter((f) => f.type === 'message').map((f) => f.data);
      assert.deepEqual(received, [0, 1, 2, 3, 4, 'marker']);
    } finally {
      ws.close();
    }
  });
});
