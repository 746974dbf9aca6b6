import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSse, connectWs } from '../../helpers/clients.js';
import { assertErrorBody } from '../../helpers/http.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';

describe('broadcasting one publication to many channels with POST /api/broadcast', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'api.maxBatchSize': 3 });
  });
  after(() => t.stop());

  it('publishes to each channel and answers per channel with its subscriber count', async () => {
    const both = await connectWs(`${t.wsUrl}/ws?channels=red,green`);
    const red = await connectSse(`${t.url}/sse?channels=red`);
    try {
      await both.next((f) => f.type === 'welcome');
      await red.next((e) => e.event === 'welcome');
      const res = await post(`${t.url}/api/broadcast`, { channels: ['red', 'green', 'blue'], data: { alert: 'all' } });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {
        results: [
          { channel: 'red', subscribers: 2 },
          { channel: 'green', subscribers: 1 },
          { channel: 'blue', subscribers: 0 },
        ],
      });
      await both.next((f) => f.type === 'message' && f.channel === 'green');
      const received = both.inbox.all.filter((f) => f.type === 'message');
      assert.deepEqual(
        received.map((f) => [f.channel, f.data]),
        [
          ['red', { alert: 'all' }],
          ['green', { alert: 'all' }],
        ],
      );
      const event = await red.next((e) => e.event === 'message');
      assert.deepEqual(JSON.parse(event.data), { channel: 'red', data: { alert: 'all' } });
    } finally {
      both.close();
      red.close();
    }
  });

  it('gives an invalid channel its own error and still publishes to the others', async () => {
    const res = await post(`${t.url}/api/broadcast`, { channels: ['ok-1', 'not ok', 'ok-2'], data: 1 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.results[0], { channel: 'ok-1', subscribers: 0 });
    assert.equal(res.body.results[1].channel, 'not ok');
    assert.equal(res.body.results[1].error.code, 'bad_request');
    assert.deepEqual(res.body.results[2], { channel: 'ok-2', subscribers: 0 });
  });

  it('refuses a body without a non-empty list of channels', async () => {
    for (const body of [{ data: 1 }, { channels: [], data: 1 }, { channels: 'red', data: 1 }, []]) {
      const res = await post(`${t.url}/api/broadcast`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assertErrorBody(res.body, 'bad_request');
    }
  });

  it('refuses more channels than api.maxBatchSize with 413 too_large', async () => {
    const res = await post(`${t.url}/api/broadcast`, { channels: ['a', 'b', 'c', 'd'], data: 1 });
    assert.equal(res.status, 413);
    assertErrorBody(res.body, 'too_large');
  });
});
