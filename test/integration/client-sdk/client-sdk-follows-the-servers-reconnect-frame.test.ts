import assert from 'node:assert/strict';
import { it } from 'node:test';
import { WebSocket } from 'ws';
import { SwitchboardClient, type DisconnectedEvent, type SubscribedEvent, type WebSocketConstructor } from '../../../src/client/index.js';
import { post, startNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

it('the client SDK reconnects when the server asks it to (reconnect frame, close 4000), with a new session that recovers what was published meanwhile', async (t) => {
  const node = await startNode({
    'channels.namespaces': { feed: { historySize: 50 } },
    'sessions.lifetime.enabled': true,
    'sessions.lifetime.min': '400ms',
    'sessions.lifetime.max': '500ms',
    'sessions.heartbeatInterval': '100ms',
  });
  const client = new SwitchboardClient(node.url, { WebSocket: WebSocket as unknown as WebSocketConstructor, minReconnectDelay: 50, maxReconnectDelay: 200 });
  t.after(async () => {
    client.close();
    await node.stop();
  });
  const disconnects: DisconnectedEvent[] = [];
  client.on('disconnected', (e) => disconnects.push(e));
  const received: number[] = [];
  const subscribed: SubscribedEvent[] = [];
  const subscription = client.subscribe<{ n: number }>('feed:ticks', (data) => received.push(data.n));
  subscription.on('subscribed', (e) => subscribed.push(e));
  await client.connect();
  await subscription.ready;
  const firstSession = client.session!.session;

  // One publish at a time: concurrent requests could reach the node in another order than n.
  let n = 0;
  let publishing = true;
  const publisher = (async () => {
    while (publishing) {
      await post(`${node.url}/api/publish`, { channel: 'feed:ticks', data: { n: n + 1 } });
      n += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    await waitUntil(() => disconnects.length > 0 && client.state === 'connected' && client.session!.session !== firstSession, 5000, 'a lifetime reconnect');
  } finally {
    publishing = false;
    await publisher;
  }
  assert.deepEqual({ code: disconnects[0]!.code, reason: disconnects[0]!.reason, reconnect: disconnects[0]!.reconnect }, { code: 4000, reason: 'lifetime', reconnect: true });
  await waitUntil(() => received.length === n, 5000, 'every publication');
  assert.deepEqual(
    received,
    Array.from({ length: n }, (_, i) => i + 1),
    'each publication once, in order, across the reconnect',
  );
  assert.equal(subscribed.at(-1)!.recovered, true);
});
