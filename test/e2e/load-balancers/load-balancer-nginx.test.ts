import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSse, connectWs, type StreamClient, type SseEvent, type WsClient } from '../../helpers/clients.js';
import { killAll, startCluster, startSharedBroker, type SharedBroker } from '../../helpers/cluster.js';
import { startNginx, type Nginx } from '../../helpers/nginx.js';
import { post, type NodeProcess } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';

/**
 * The nginx example of deploy/ (checked with `nginx -t`) in front of two node processes sharing
 * Redis: WebSocket clients (upgraded through it) and SSE clients (streamed unbuffered) on both
 * nodes receive a publication made through it. Only its addresses and file limits are made local.
 */
describe('two nodes behind nginx with the example config', { skip: requireTool('nginx', 'redis-server') }, () => {
  let broker: SharedBroker | undefined;
  let nodes: NodeProcess[] = [];
  let nginx: Nginx | undefined;
  const open: { close(): void }[] = [];

  before(async () => {
    broker = await startSharedBroker('redis');
    nodes = await startCluster(2, broker);
    nginx = await startNginx(nodes);
  });
  after(async () => {
    for (const client of open) client.close();
    await nginx?.stop();
    killAll(nodes);
    await broker?.service.stop();
  });

  it('carries WebSocket and SSE clients to both nodes, and a publication to all of them', async () => {
    const lb = nginx!.url;
    const clients: (WsClient & { node: string })[] = [];
    const streams: (StreamClient<SseEvent> & { node: string })[] = [];
    // least_conn over two nodes: four clients of each kind land on both.
    for (let i = 0; i < 4; i++) {
      const client = await connectWs(`${lb.replace('http', 'ws')}/ws?channels=lb`);
      open.push(client);
      const welcome = await client.next((f) => f.type === 'welcome');
      await client.next((f) => f.type === 'subscribed');
      clients.push(Object.assign(client, { node: welcome.node as string }));
    }
    for (let i = 0; i < 4; i++) {
      const stream = await connectSse(`${lb}/sse?channels=lb`);
      open.push(stream);
      assert.equal(stream.status, 200);
      const welcome = JSON.parse((await stream.next((e) => e.event === 'welcome')).data);
      await stream.next((e) => e.event === 'subscribed');
      streams.push(Object.assign(stream, { node: welcome.node as string }));
    }
    assert.equal(new Set(clients.map((c) => c.node)).size, 2, 'WebSocket sessions on both nodes');
    assert.equal(new Set(streams.map((s) => s.node)).size, 2, 'SSE sessions on both nodes');

    const res = await post(`${lb}/api/publish`, { channel: 'lb', data: { through: 'nginx' } });
    assert.equal(res.status, 200);
    for (const client of clients) assert.deepEqual(await client.next((f) => f.type === 'message'), { type: 'message', channel: 'lb', data: { through: 'nginx' } });
    for (const stream of streams) assert.deepEqual(JSON.parse((await stream.next((e) => e.event === 'message')).data), { channel: 'lb', data: { through: 'nginx' } });
  });
});
