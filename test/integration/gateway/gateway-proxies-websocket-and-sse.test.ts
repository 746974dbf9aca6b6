import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { connectSse, connectWs } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';

/** Long-lived upstream connections through the gateway: WebSocket tunnels and SSE streams. */
describe('gateway WebSocket and SSE proxying', () => {
  let node: TestNode;
  let upstream: HttpUpstream;
  const streams = new Set<ServerResponse>();
  let sendEvent: (text: string) => void = () => {};

  before(async () => {
    upstream = await startHttpUpstream('live', (req, res) => {
      req.resume();
      if (req.url?.startsWith('/events')) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.flushHeaders();
        streams.add(res);
        res.on('close', () => streams.delete(res));
        sendEvent = (text) => {
          for (const s of streams) s.write(`event: tick\ndata: ${text}\n\n`);
        };
        return;
      }
      res.writeHead(426).end();
    });
    node = await startNode({
      'gateway.enabled': true,
      'gateway.services': { live: { instances: [upstream.url] } },
      'gateway.routes': [{ name: 'live', service: 'live', path: '/live', stripPrefix: true }],
    });
  });
  after(async () => {
    for (const s of streams) s.destroy();
    await node?.stop();
    await upstream?.kill();
  });

  it('carries a WebSocket to the upstream and frames both ways', async () => {
    const client = await connectWs(`${node.wsUrl}/live/socket?room=1`, { headers: { 'x-client': 'test' } });
    const hello = await client.next();
    assert.equal(hello.instance, 'live');
    assert.equal(hello.url, '/socket?room=1');
    assert.equal(hello.headers['x-client'], 'test');
    assert.equal(hello.headers['x-forwarded-for'], '127.0.0.1');
    for (const text of ['one', 'two', 'three']) {
      client.ws.send(text);
      await new Promise<void>((resolve) =>
        client.ws.once('message', (data) => {
          assert.equal(data.toString(), `live:${text}`);
          resolve();
        }),
      );
    }
    client.ws.close(4321, 'bye');
    assert.deepEqual(await client.closed, { code: 4321, reason: 'bye' }, 'the close handshake goes through');
    const scraped = await scrape(node.url);
    assert.equal(scraped.value('switchboard_gateway_requests_total', { route: 'live', service: 'live', instance: `127.0.0.1:${upstream.port}`, status: '101' }), 1);
  });

  it("still serves the node's own WebSocket endpoint", async () => {
    const client = await connectWs(`${node.wsUrl}/ws`);
    assert.equal((await client.next((f) => f.type === 'welcome')).type, 'welcome');
    client.close();
  });

  it('streams SSE events from the upstream as they are sent', async () => {
    const stream = await connectSse(`${node.url}/live/events`);
    assert.equal(stream.status, 200);
    assert.equal(stream.headers['content-type'], 'text/event-stream');
    for (let i = 1; i <= 3; i++) {
      sendEvent(`n${i}`);
      const event = await stream.next((e) => e.event === 'tick', 2000);
      assert.equal(event.data, `n${i}`);
    }
    stream.close();
  });
});
