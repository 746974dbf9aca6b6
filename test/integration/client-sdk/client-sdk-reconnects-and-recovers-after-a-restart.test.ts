import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { SwitchboardClient, type DisconnectedEvent, type SubscribedEvent, type WebSocketConstructor } from '../../../src/client/index.js';
import { post, startProcess, type NodeProcess } from '../../helpers/node.js';
import { startRedis, type Service } from '../../helpers/services.js';
import { waitUntil } from '../../helpers/wait.js';
import { requireTool } from '../../helpers/tools.js';

const namespaces = JSON.stringify({ feed: { historySize: 100 } });

describe('the client SDK across a node restart', { skip: requireTool('redis-server') }, () => {
  let redis: Service;
  let node: NodeProcess | undefined;
  const clients: SwitchboardClient[] = [];

  after(async () => {
    for (const client of clients) client.close();
    node?.kill();
    await node?.exited;
    await redis?.stop();
  });

  const start = (port: number) =>
    startProcess(['--port', String(port), '--api.insecure', 'true', '--broker.type', 'redis', '--broker.redis.url', redis.url, '--channels.namespaces', namespaces]);

  it('reconnects after the node is killed and restarted on the same port, resubscribes and gets every missed publication once, in order', async () => {
    redis = await startRedis();
    node = await start(0);
    const port = node.port;
    const client = new SwitchboardClient(node.url, { WebSocket: WebSocket as unknown as WebSocketConstructor, minReconnectDelay: 100, maxReconnectDelay: 400 });
    clients.push(client);
    const states: string[] = [];
    client.on('state', (s) => states.push(s));
    const disconnects: DisconnectedEvent[] = [];
    client.on('disconnected', (e) => disconnects.push(e));
    const received: number[] = [];
    const subscribedEvents: SubscribedEvent[] = [];
    const subscription = client.subscribe<{ n: number }>('feed:scores', (data) => received.push(data.n));
    subscription.on('subscribed', (e) => subscribedEvents.push(e));
    await client.connect();
    assert.equal(client.session?.transport, 'websocket');
    await subscription.ready;
    for (const n of [1, 2]) await post(`${node.url}/api/publish`, { channel: 'feed:scores', data: { n } });
    await waitUntil(() => received.length === 2, 5000, 'the live publications');

    node.kill();
    await node.exited;
    await waitUntil(() => client.state !== 'connected', 5000, 'the client to notice');
    assert.ok(disconnects.length >= 1 && disconnects[0]!.reconnect, 'the loss is reported and a reconnect scheduled');

    // Published while the client is away, through a second node on the same Redis.
    const other = await start(0);
    for (const n of [3, 4, 5]) await post(`${other.url}/api/publish`, { channel: 'feed:scores', data: { n } });
    other.kill();
    await other.exited;

    node = await start(port);
    await waitUntil(() => client.state === 'connected', 15_000, 'the client to reconnect');
    await waitUntil(() => received.length === 5, 5000, 'the missed publications');
    await post(`${node.url}/api/publish`, { channel: 'feed:scores', data: { n: 6 } });
    await waitUntil(() => received.length === 6, 5000, 'a live publication after the reconnect');
    assert.deepEqual(received, [1, 2, 3, 4, 5, 6]);
    const resumed = subscribedEvents.at(-1)!;
    assert.equal(resumed.recovered, true);
    assert.equal(resumed.replayed, 3);
    assert.deepEqual(states.slice(0, 3), ['connecting', 'connected', 'disconnected']);
    assert.equal(states.at(-1), 'connected');
  });
});
