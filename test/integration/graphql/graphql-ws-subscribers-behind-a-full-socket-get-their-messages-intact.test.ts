import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import WebSocket from 'ws';
import { graphqlWsClient, run } from '../../helpers/graphql.js';
import { get, post, startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

// Sessions build their GraphQL messages in one buffer that the next session reuses once the kernel
// has taken a write whole. A subscriber that stops reading fills its socket, so its writes are
// kept by the socket: they must stay as they were while the other subscribers' bytes are built.
const publications = 1600;
const dataBytes = 8 * 1024;
const query = 'subscription($name: String!) { channel(name: $name) { data } }';

let t: TestNode;
before(async () => {
  t = await startNode({ 'graphql.enabled': true, 'sessions.maxBufferedBytes': '64MiB', 'channels.namespaces': { news: {} } });
});
after(() => t.stop());

/** A graphql-transport-ws subscriber on a plain WebSocket, so that the test can stop reading its socket. */
async function rawSubscriber(id: string, channel: string): Promise<{ ws: WebSocket; messages: string[] }> {
  const ws = new WebSocket(`${t.wsUrl}/graphql`, 'graphql-transport-ws');
  const messages: string[] = [];
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ type: 'connection_init' }));
  await new Promise<void>((resolve) =>
    ws.on('message', (data) => {
      const text = String(data);
      if (text.startsWith('{"type":"connection_ack"')) resolve();
      else messages.push(text);
    }),
  );
  ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables: { name: channel } } }));
  return { ws, messages };
}

it('a subscriber that stops reading gets every message intact and in order once it reads again, while another keeps receiving', async () => {
  const channel = 'news:backlog';
  const slowId = 'slow-subscriber-0001';
  const slow = await rawSubscriber(slowId, channel);
  const client = graphqlWsClient(t.wsUrl);
  try {
    const fast = run(client, query, { name: channel });
    await waitUntil(async () => (await get(`${t.url}/api/channels`)).body.channels?.find((c: any) => c.channel === channel)?.subscribers === 2, 5000, 'both subscriptions');
    slow.ws.pause();
    const filler = 'x'.repeat(dataBytes);
    for (let seq = 0; seq < publications; seq++) assert.equal((await post(`${t.url}/api/publish`, { channel, data: { seq, filler } })).status, 200);
    await waitUntil(() => fast.results.length === publications, 20000, 'the reading subscriber to get every publication');
    assert.deepEqual(
      fast.results.map((r) => r.data.channel.data.seq),
      [...Array(publications).keys()],
    );

    slow.ws.resume();
    await waitUntil(() => slow.messages.length === publications, 20000, 'the paused subscriber to catch up');
    slow.messages.forEach((text, seq) => {
      const message = JSON.parse(text);
      assert.equal(message.id, slowId, `message ${seq} is the slow subscriber's`);
      assert.equal(message.type, 'next');
      assert.deepEqual(message.payload, { data: { channel: { data: { seq, filler } } } }, `message ${seq} is intact`);
    });
  } finally {
    slow.ws.terminate();
    await client.dispose();
  }
});
