import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNdjson, connectSse, connectWs } from '../../helpers/clients.js';
import { request } from '../../helpers/http.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { waitUntil } from '../../helpers/wait.js';

describe('Prometheus metrics at /metrics', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode();
  });
  after(() => t.stop());

  it('serves the text exposition format with every documented family', async () => {
    const res = await fetch(`${t.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /^text\/plain; version=0\.0\.4/);
    const m = await scrape(t.url);
    const families: [string, 'counter' | 'gauge' | 'histogram'][] = [
      ['switchboard_sessions', 'gauge'],
      ['switchboard_subscriptions', 'gauge'],
      ['switchboard_channels', 'gauge'],
      ['switchboard_connections_total', 'counter'],
      ['switchboard_publications_total', 'counter'],
      ['switchboard_messages_out_total', 'counter'],
      ['switchboard_sent_bytes_total', 'counter'],
      ['switchboard_messages_in_total', 'counter'],
      ['switchboard_dropped_bytes_total', 'counter'],
      ['switchboard_errors_total', 'counter'],
      ['switchboard_limit_hits_total', 'counter'],
      ['switchboard_publish_duration_seconds', 'histogram'],
    ];
    for (const [name, type] of families) assert.ok(m.declares(name, type), `${name} is a ${type}`);
    assert.ok(
      m.samples.some((s) => s.name === 'process_resident_memory_bytes'),
      'process metrics are exported',
    );
  });

  it('counts sessions by transport as clients come and go', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws?channels=s1,s2`);
    const sse = await connectSse(`${t.url}/sse?channels=s1`);
    const stream = await connectNdjson(`${t.url}/stream?channels=s1`);
    const pushWs = await connectWs(`${t.wsUrl}/ws/messages?channels=s1`);
    const pushSse = await connectSse(`${t.url}/sse/messages?channels=s2`);
    try {
      await ws.next((f) => f.type === 'welcome');
      await sse.next((e) => e.event === 'welcome');
      await stream.next((f) => f.type === 'welcome');
      await pushWs.next((f) => f.event === 'ping');
      await pushSse.next((e) => e.event === 'heartbeat');
      const m = await scrape(t.url);
      for (const transport of ['ws', 'sse', 'http-stream', 'push-ws', 'push-sse']) {
        assert.equal(m.value('switchboard_sessions', { transport }), 1, transport);
        assert.ok(m.value('switchboard_connections_total', { transport }) >= 1, transport);
      }
      assert.equal(m.value('switchboard_subscriptions'), 6);
      assert.equal(m.value('switchboard_channels'), 2);
    } finally {
      for (const c of [ws, sse, stream, pushWs, pushSse]) c.close();
    }
    await waitUntil(async () => (await scrape(t.url)).value('switchboard_sessions', { transport: 'ws' }) === 0, 5000, 'ws sessions to end');
    await waitUntil(
      async () => {
        const m = await scrape(t.url);
        return ['sse', 'http-stream', 'push-ws', 'push-sse'].every((transport) => m.value('switchboard_sessions', { transport }) === 0);
      },
      5000,
      'all sessions to end',
    );
    const m = await scrape(t.url);
    assert.equal(m.value('switchboard_subscriptions'), 0);
    assert.equal(m.value('switchboard_channels'), 0);
  });

  it('counts publications, messages and bytes out by transport, and publish latency', async () => {
    const a = await connectWs(`${t.wsUrl}/ws?channels=counted`);
    const b = await connectWs(`${t.wsUrl}/ws?channels=counted`);
    const sse = await connectSse(`${t.url}/sse?channels=counted`);
    try {
      await a.next((f) => f.type === 'welcome');
      await b.next((f) => f.type === 'welcome');
      await sse.next((e) => e.event === 'welcome');
      const before = await scrape(t.url);
      await post(`${t.url}/api/publish`, { channel: 'counted', data: { n: 1 } });
      await post(`${t.url}/api/publish`, [
        { channel: 'counted', data: { n: 2 } },
        { channel: 'counted', data: { n: 3 } },
        { channel: 'nobody-listens', data: 0 },
      ]);
      await a.next((f) => f.type === 'message' && f.data.n === 3);
      await b.next((f) => f.type === 'message' && f.data.n === 3);
      const lastSse = await sse.next((e) => e.event === 'message' && JSON.parse(e.data).data.n === 3);
      const after = await scrape(t.url);
      const delta = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);

      assert.equal(delta('switchboard_publications_total', { source: 'api' }), 4);
      assert.equal(delta('switchboard_messages_out_total', { transport: 'ws' }), 6);
      assert.equal(delta('switchboard_messages_out_total', { transport: 'sse' }), 3);
      assert.equal(delta('switchboard_messages_out_total', { transport: 'http-stream' }), 0);

      // Bytes out are the framed bytes: a 2-byte WebSocket header plus the JSON text of each message.
      const wsTexts = a.inbox.all.filter((f) => f.type === 'message').map((f) => JSON.stringify(f));
      const wsBytes = wsTexts.reduce((sum, text) => sum + 2 + Buffer.byteLength(text), 0);
      assert.equal(delta('switchboard_sent_bytes_total', { transport: 'ws' }), 2 * wsBytes);
      const sseEvent = `event: message\ndata: ${lastSse.data}\n\n`;
      assert.ok(delta('switchboard_sent_bytes_total', { transport: 'sse' }) >= 3 * Buffer.byteLength(sseEvent) - 4);

      assert.equal(delta('switchboard_publish_duration_seconds_count', { source: 'api' }), 4);
      assert.equal(delta('switchboard_publish_duration_seconds_bucket', { source: 'api', le: '+Inf' }), 4);
      assert.ok(delta('switchboard_publish_duration_seconds_sum', { source: 'api' }) > 0);
      assert.ok(delta('switchboard_publish_duration_seconds_bucket', { source: 'api', le: '1' }) === 4, 'an in-memory publish takes well under a second');
    } finally {
      for (const c of [a, b, sse]) c.close();
    }
  });

  it('counts errors by code as the API answers them', async () => {
    const before = await scrape(t.url);
    await request('GET', `${t.url}/no-such-route`);
    await request('POST', `${t.url}/api/publish`, { body: '{oops' });
    await post(`${t.url}/api/publish`, { channel: 'bad channel', data: 1 });
    await post(`${t.url}/api/publish`, { channel: 'unknown:ns', data: 1 });
    const after = await scrape(t.url);
    const delta = (code: string) => after.value('switchboard_errors_total', { code }) - before.value('switchboard_errors_total', { code });
    assert.equal(delta('not_found'), 2);
    assert.equal(delta('bad_request'), 2);
    assert.equal(delta('unauthorized'), 0);
  });

  it('counts client frames in by transport', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws`);
    try {
      await ws.next((f) => f.type === 'welcome');
      const before = (await scrape(t.url)).value('switchboard_messages_in_total', { transport: 'ws' });
      ws.send({ type: 'ping', id: 1 });
      ws.send({ type: 'ping', id: 2 });
      await ws.next((f) => f.type === 'pong' && f.id === 2);
      const after = (await scrape(t.url)).value('switchboard_messages_in_total', { transport: 'ws' });
      assert.equal(after - before, 2);
    } finally {
      ws.close();
    }
  });
});
