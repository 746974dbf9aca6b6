import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

const pings = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ type: 'ping', id: from + i }));

describe('the client rate limit counts frames, also inside a batch', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'limits.clientMessagesPerSecond': 1, 'limits.clientMessagesBurst': 5 });
  });
  after(() => t?.stop());

  it('answers the frames of a WebSocket batch beyond the burst with rate_limited, each with its id', async () => {
    const c = await connectWs(`${t.wsUrl}/ws`);
    try {
      await c.next((f) => f.type === 'welcome');
      const hitsBefore = (await scrape(t.url)).value('switchboard_limit_hits_total', { limit: 'rate' });
      c.send(pings(1, 8));
      for (const id of [6, 7, 8]) assert.equal((await c.next((f) => f.type === 'reply' && f.id === id)).error.code, 'rate_limited');
      assert.deepEqual(
        c.inbox.all.filter((f) => f.type === 'pong').map((f) => f.id),
        [1, 2, 3, 4, 5],
      );
      assert.equal((await scrape(t.url)).value('switchboard_limit_hits_total', { limit: 'rate' }) - hitsBefore, 3);
    } finally {
      c.close();
    }
  });

  it('answers the frames of a /frames request beyond the burst with rate_limited', async () => {
    const res = await post(`${t.url}/frames`, pings(1, 8));
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.filter((f: { type: string }) => f.type === 'pong').map((f: { id: number }) => f.id),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      res.body.filter((f: { error?: { code: string } }) => f.error?.code === 'rate_limited').map((f: { id: number }) => f.id),
      [6, 7, 8],
    );
  });
});

describe('6,000 pings sent at once in batches of 100', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode();
  });
  after(() => t?.stop());

  it('are answered only up to the burst, and the session is closed for flooding', async () => {
    const c = await connectWs(`${t.wsUrl}/ws`);
    await c.next((f) => f.type === 'welcome');
    for (let batch = 0; batch < 60; batch++) c.send(pings(batch * 100, 100));
    const closed = await c.closed;
    assert.equal(closed.code, 4429);
    const pongs = c.inbox.all.filter((f) => f.type === 'pong').length;
    // limits.clientMessagesBurst (200) at once, and what refilled at 100 per second while they were read.
    assert.ok(pongs >= 200 && pongs < 400, `${pongs} pongs`);
  });
});
