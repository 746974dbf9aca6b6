import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent, fetch } from 'undici';
import WebSocket from 'ws';
import { startNode, type TestNode } from '../../helpers/node.js';
import { certificateDir } from '../../helpers/tls.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

// Sessions build their GraphQL messages in memory that the next session reuses once the kernel has
// taken a write whole. A subscriber that stops reading fills its socket, and TLS keeps every write
// until it has encrypted it: those writes must stay as they were while other subscribers' bytes are
// built.
const publications = 1600;
const dataBytes = 8 * 1024;
const query = 'subscription($name: String!) { channel(name: $name) { data } }';
const channel = 'news:backlog';

interface Subscriber {
  ws: WebSocket;
  messages: string[];
}

/** A graphql-transport-ws subscriber on a plain WebSocket, so that the test can stop reading its socket. */
async function subscriber(url: string, id: string): Promise<Subscriber> {
  const ws = new WebSocket(`${url}/graphql`, 'graphql-transport-ws', { rejectUnauthorized: false });
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

function assertIntact(messages: string[], id: string, filler: string): void {
  assert.equal(messages.length, publications);
  messages.forEach((text, seq) => {
    const message = JSON.parse(text);
    assert.equal(message.id, id, `message ${seq} is the subscriber's own`);
    assert.equal(message.type, 'next');
    assert.deepEqual(message.payload, { data: { channel: { data: { seq, filler } } } }, `message ${seq} is intact`);
  });
}

for (const secure of [false, true]) {
  describe(`graphql-ws subscribers ${secure ? 'over TLS' : 'on plain sockets'}`, { skip: secure && requireTool('openssl') }, () => {
    const certs = secure ? certificateDir() : undefined;
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    let t: TestNode;
    let base: string;
    before(async () => {
      const cert = certs?.make('localhost');
      t = await startNode({
        'graphql.enabled': true,
        'sessions.maxBufferedBytes': '64MiB',
        'channels.namespaces': { news: {} },
        ...(cert ? { 'server.tls.cert': cert.cert, 'server.tls.key': cert.key } : {}),
      });
      base = `${secure ? 'https' : 'http'}://127.0.0.1:${t.node.port}`;
    });
    after(async () => {
      await t?.stop();
      await dispatcher.close();
      certs?.remove();
    });

    it('a subscriber that stops reading gets every message intact and in order once it reads again, while another keeps receiving', async () => {
      const wsBase = base.replace('http', 'ws');
      const slow = await subscriber(wsBase, 'slow-subscriber-0001');
      const fast = await subscriber(wsBase, 'fast-subscriber-0002');
      try {
        const subscribers = async () =>
          ((await (await fetch(`${base}/api/channels`, { dispatcher })).json()) as any).channels?.find((c: any) => c.channel === channel)?.subscribers;
        await waitUntil(async () => (await subscribers()) === 2, 5000, 'both subscriptions');
        slow.ws.pause();
        const filler = 'x'.repeat(dataBytes);
        for (let seq = 0; seq < publications; seq++) {
          const res = await fetch(`${base}/api/publish`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ channel, data: { seq, filler } }),
            dispatcher,
          });
          assert.equal(res.status, 200);
          await res.arrayBuffer();
        }
        await waitUntil(() => fast.messages.length === publications, 20000, 'the reading subscriber to get every publication');
        assertIntact(fast.messages, 'fast-subscriber-0002', filler);
        slow.ws.resume();
        await waitUntil(() => slow.messages.length === publications, 20000, 'the paused subscriber to catch up');
        assertIntact(slow.messages, 'slow-subscriber-0001', filler);
      } finally {
        slow.ws.terminate();
        fast.ws.terminate();
      }
    });
  });
}
