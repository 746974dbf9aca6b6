import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNdjson, connectRawStream, connectRawWs, connectSse, connectWs, type RawClient } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

const payload = 'x'.repeat(16 * 1024);

describe('A slow consumer', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'sessions.maxBufferedBytes': '256KiB', 'sessions.closeGracePeriod': '200ms' });
  });
  after(() => t.stop());

  const slowConsumerClosings = async () => (await scrape(t.url)).value('switchboard_disconnections_total', { reason: 'slow_consumer' });

  /**
   * Publishes 16 KiB messages to the channel, four per request (well under the buffer limit for a
   * client that reads), until the stuck client has been closed; returns how many were published.
   */
  async function publishUntilClosed(channel: string, stuck: RawClient): Promise<number> {
    const before = await slowConsumerClosings();
    let sent = 0;
    while ((await slowConsumerClosings()) === before) {
      assert.ok(sent < 8000, 'the stuck client was never closed');
      const batch = Array.from({ length: 4 }, () => ({ channel, data: { seq: sent++, payload } }));
      const res = await post(`${t.url}/api/publish`, batch);
      assert.equal(res.status, 200);
    }
    assert.equal(await slowConsumerClosings(), before + 1);
    // The server dropped the connection: once the stuck client reads again, it sees the end.
    stuck.socket.resume();
    await stuck.closed;
    return sent;
  }

  it('is closed once its WebSocket outbound buffer is full, while a reading client on the same channel gets every message in order', async () => {
    const bufferHits = (await scrape(t.url)).value('switchboard_limit_hits_total', { limit: 'buffer' });
    const errors = (await scrape(t.url)).value('switchboard_errors_total', { code: 'slow_consumer' });
    const reader = await connectWs(`${t.wsUrl}/ws?channels=firehose`);
    await reader.next((f) => f.type === 'welcome');
    // Completes the handshake, then never reads: the kernel buffers fill, then the session's own.
    const stuck = await connectRawWs(`${t.wsUrl}/ws?channels=firehose`);

    const sent = await publishUntilClosed('firehose', stuck);
    assert.equal((await scrape(t.url)).value('switchboard_limit_hits_total', { limit: 'buffer' }), bufferHits + 1);
    assert.equal((await scrape(t.url)).value('switchboard_errors_total', { code: 'slow_consumer' }), errors + 1);

    const last = await post(`${t.url}/api/publish`, { channel: 'firehose', data: { seq: sent, payload: 'last' } });
    assert.equal(last.body.subscribers, 1);
    await reader.next((f) => f.type === 'message' && f.data.seq === sent, 10_000);
    const seqs = reader.inbox.all.filter((f) => f.type === 'message').map((f) => f.data.seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: sent + 1 }, (_, i) => i),
    );
    assert.equal(reader.ws.readyState, reader.ws.OPEN);
    reader.close();
  });

  it('is closed once its SSE outbound buffer is full, while SSE and HTTP-streaming readers get every message in order', async () => {
    const sse = await connectSse(`${t.url}/sse?channels=sse-firehose`);
    const ndjson = await connectNdjson(`${t.url}/stream?channels=sse-firehose`);
    await sse.next((e) => e.event === 'welcome');
    await ndjson.next((f) => f.type === 'welcome');
    const stuck = await connectRawStream(`${t.url}/sse?channels=sse-firehose`);

    const sent = await publishUntilClosed('sse-firehose', stuck);
    await post(`${t.url}/api/publish`, { channel: 'sse-firehose', data: { seq: sent, payload: 'last' } });
    await sse.next((e) => e.event === 'message' && JSON.parse(e.data).data.seq === sent, 10_000);
    await ndjson.next((f) => f.type === 'message' && f.data.seq === sent, 10_000);
    const expected = Array.from({ length: sent + 1 }, (_, i) => i);
    assert.deepEqual(
      sse.inbox.all.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data).data.seq),
      expected,
    );
    assert.deepEqual(
      ndjson.inbox.all.filter((f) => f.type === 'message').map((f) => f.data.seq),
      expected,
    );
    sse.close();
    ndjson.close();
  });

  it('is closed with slow_consumer (4001) when one burst of publications exceeds its whole buffer', async () => {
    const client = await connectWs(`${t.wsUrl}/ws?channels=burst`);
    await client.next((f) => f.type === 'welcome');
    const burst = Array.from({ length: 20 }, (_, i) => ({ channel: 'burst', data: { i, payload } }));
    assert.equal((await post(`${t.url}/api/publish`, burst)).status, 200);
    const closed = await client.closed;
    assert.equal(closed.code, 4001);
    assert.equal(closed.reason, 'slow_consumer');
  });
});
