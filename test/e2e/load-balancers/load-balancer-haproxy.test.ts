import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSse, connectWs, type SseEvent, type StreamClient, type WsClient } from '../../helpers/clients.js';
import { killAll, startCluster, startSharedBroker, type SharedBroker } from '../../helpers/cluster.js';
import { startHaproxy, type Haproxy } from '../../helpers/haproxy.js';
import { get, post, type NodeProcess } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

/**
 * The HAProxy example of deploy/ in front of two node processes sharing Redis: WebSocket and SSE
 * clients work through it, and when one node drains (SIGTERM) its clients come back on the other.
 * The test runs the shipped config with only its addresses made local: no client is ever answered
 * 503, not even those that reconnect while a node drains (HAProxy takes the node out of rotation
 * and sends a request it refused to another one).
 */
describe('two nodes behind HAProxy with the example config', { skip: requireTool('haproxy', 'redis-server') }, () => {
  let broker: SharedBroker | undefined;
  let nodes: NodeProcess[] = [];
  let haproxy: Haproxy | undefined;
  let lb = '';
  const open: { close(): void }[] = [];
  const ids = new Map<string, NodeProcess>();

  before(async () => {
    broker = await startSharedBroker('redis');
    nodes = await startCluster(2, broker, ['--shutdown.drainWindow', '600ms', '--sessions.closeGracePeriod', '500ms']);
    for (const node of nodes) ids.set((await get(`${node.url}/api/info`)).body.node, node);
    haproxy = await startHaproxy(nodes);
    lb = haproxy.url;
  });
  after(async () => {
    for (const client of open) client.close();
    await haproxy?.stop();
    killAll(nodes);
    await broker?.service.stop();
  });

  /** A WebSocket client through the load balancer; its upgrade is never refused. */
  async function ws(): Promise<WsClient & { node: string }> {
    const client = await connectWs(`${lb.replace('http', 'ws')}/ws?channels=lb`);
    open.push(client);
    const welcome = await client.next((f) => f.type === 'welcome');
    await client.next((f) => f.type === 'subscribed');
    return Object.assign(client, { node: welcome.node as string });
  }

  async function sse(): Promise<StreamClient<SseEvent> & { node: string }> {
    const client = await connectSse(`${lb}/sse?channels=lb`);
    open.push(client);
    assert.equal(client.status, 200, client.raw);
    const welcome = JSON.parse((await client.next((e) => e.event === 'welcome')).data);
    await client.next((e) => e.event === 'subscribed');
    return Object.assign(client, { node: welcome.node as string });
  }

  it('carries WebSocket and SSE clients to both nodes, and publications to all of them', async () => {
    const clients = [];
    for (let i = 0; i < 6; i++) clients.push(await ws());
    const streams = [await sse(), await sse()];
    assert.equal(streams[0]!.headers['content-type'], 'text/event-stream; charset=utf-8');
    // leastconn spreads them over both nodes.
    const used = new Set([...clients, ...streams].map((c) => c.node));
    assert.equal(used.size, 2, `sessions on ${[...used].join(', ')}`);

    const res = await post(`${lb}/api/publish`, { channel: 'lb', data: { through: 'haproxy' } });
    assert.equal(res.status, 200);
    for (const client of clients) assert.deepEqual(await client.next((f) => f.type === 'message'), { type: 'message', channel: 'lb', data: { through: 'haproxy' } });
    for (const stream of streams) {
      const event = await stream.next((e) => e.event === 'message');
      assert.deepEqual(JSON.parse(event.data), { channel: 'lb', data: { through: 'haproxy' } });
    }
    for (const client of [...clients, ...streams]) client.close();
  });

  it('moves the clients of a draining node to the other one, none of them answered 503', async () => {
    const clients = [];
    for (let i = 0; i < 20; i++) clients.push(await ws());
    const streams = [];
    for (let i = 0; i < 6; i++) streams.push(await sse());
    const draining = clients[0]!.node;
    const staying = [...ids.keys()].find((id) => id !== draining)!;
    const drainingProcess = ids.get(draining)!;
    const onDraining = clients.filter((c) => c.node === draining);
    const streamsOnDraining = streams.filter((s) => s.node === draining);
    assert.ok(onDraining.length > 0);

    drainingProcess.child.kill('SIGTERM');
    // Each of its clients is told to reconnect and closed; it comes back through the load balancer.
    const moved = await Promise.all(
      onDraining.map(async (client) => {
        const frame = await client.next((f) => f.type === 'reconnect', 5000);
        assert.equal(frame.reason, 'shutdown');
        assert.equal((await client.closed).code, 4000);
        return ws();
      }),
    );
    const movedStreams = await Promise.all(
      streamsOnDraining.map(async (stream) => {
        await stream.next((e) => e.event === 'reconnect', 5000);
        await stream.ended;
        return sse();
      }),
    );
    for (const client of [...moved, ...movedStreams]) assert.equal(client.node, staying, 'reconnected to the node that stays');
    assert.deepEqual(await drainingProcess.exited, { code: 0, signal: null });

    // Everyone is on the remaining node now, and publications through the load balancer reach them.
    const everyone = [...clients.filter((c) => c.node === staying), ...moved];
    const everyStream = [...streams.filter((s) => s.node === staying), ...movedStreams];
    await waitUntil(async () => (await post(`${lb}/api/publish`, { channel: 'lb', data: 'after the drain' })).status === 200, 5000, 'a publish through the load balancer');
    for (const client of everyone) assert.deepEqual(await client.next((f) => f.type === 'message'), { type: 'message', channel: 'lb', data: 'after the drain' });
    for (const stream of everyStream)
      assert.deepEqual(JSON.parse((await stream.next((e) => e.event === 'message' && e.data !== '')).data), { channel: 'lb', data: 'after the drain' });
    for (const client of [...everyone, ...everyStream]) client.close();
  });
});
