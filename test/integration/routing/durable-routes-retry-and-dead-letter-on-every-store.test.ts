import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHookServer, type HookAnswer } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { get, post, startNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { startNats, startRedis, type Service } from '../../helpers/services.js';
import { waitUntil } from '../../helpers/wait.js';
import { requireTool, type Tool } from '../../helpers/tools.js';

/** Where the durable queues live: the node's broker kind decides the topic store. */
const stores: { name: string; start(): Promise<Service | undefined>; settings(service: Service | undefined): Record<string, unknown>; tools: Tool[] }[] = [
  { name: 'memory', start: async () => undefined, settings: () => ({}), tools: [] },
  { name: 'redis', start: startRedis, settings: (s) => ({ 'broker.type': 'redis', 'broker.redis.url': s!.url }), tools: ['redis-server'] },
  { name: 'nats', start: startNats, settings: (s) => ({ 'broker.type': 'nats', 'broker.nats.servers': s!.url }), tools: ['nats-server'] },
];

for (const store of stores) {
  /** A node with one durable route to a backend that answers with `answer`, and a connected client. */
  async function setUp(t: { after(fn: () => Promise<void>): void }, answer: () => HookAnswer, maxAttempts = 3) {
    const service = await store.start();
    const backend = await startHookServer(answer);
    const node = await startNode({
      ...store.settings(service),
      'routing.backends': { orders: backend.url },
      'routing.routes': [{ name: 'orders', key: '$default', backend: 'orders', durable: true, maxAttempts }],
      'routing.retry.initialBackoff': '50ms',
      'routing.retry.maxBackoff': '100ms',
      'routing.breaker.failures': 1000,
    });
    const client = await connectWs(`${node.wsUrl}/ws`);
    t.after(async () => {
      client.close();
      await node.stop();
      await backend.stop();
      await service?.stop();
    });
    return { backend, node, client };
  }

  describe(`durable routes on the ${store.name} store`, { skip: requireTool(...store.tools) }, () => {
    it('acknowledge the client once the message is stored, then retry until the backend takes it', async (t) => {
      let calls = 0;
      const { backend, node, client } = await setUp(t, () => (++calls <= 2 ? { status: 500, body: { error: 'not yet' } } : { body: { ok: true } }));
      client.send({ type: 'send', id: 1, data: { order: 42 } });
      const reply = await client.next((f) => f.type === 'reply' && f.id === 1);
      assert.equal(reply.data.durable, true);
      assert.match(reply.data.messageId, /^[0-9a-f-]{36}$/);
      await waitUntil(() => backend.calls.length === 3, 5000);
      assert.deepEqual(
        backend.calls.map((c) => c.body.attempt),
        [1, 2, 3],
      );
      assert.deepEqual(new Set(backend.calls.map((c) => c.body.id)), new Set([reply.data.messageId]), 'one message id on every attempt');
      assert.deepEqual(backend.calls[0]!.body.data, { order: 42 });
      assert.equal(backend.calls[2]!.headers['x-switchboard-attempt'], '3');
      const metrics = await scrape(node.url);
      assert.equal(metrics.value('switchboard_durable_retries_total', { route: 'orders' }), 2);
      assert.equal(metrics.value('switchboard_routed_messages_total', { route: 'orders', outcome: 'accepted' }), 1);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(backend.calls.length, 3, 'nothing is delivered again after the backend took it');
    });

    it('move a message to the dead letters after the last attempt, and replay it once on request', async (t) => {
      let healthy = false;
      const { backend, node, client } = await setUp(t, () => (healthy ? { body: { ok: true } } : { status: 503, body: '' }), 2);
      client.send({ type: 'send', id: 1, data: { order: 7 } });
      const { messageId } = (await client.next((f) => f.type === 'reply' && f.id === 1)).data;
      let letters: any[] = [];
      await waitUntil(async () => {
        letters = (await get(`${node.url}/api/routes/orders/dead-letters`)).body.deadLetters;
        return letters.length === 1;
      }, 5000);
      assert.equal(backend.calls.length, 2);
      assert.equal(letters[0].message.id, messageId);
      assert.equal(letters[0].attempts, 2);
      assert.equal(letters[0].backend, 'orders');
      assert.equal((await scrape(node.url)).value('switchboard_durable_dead_letters_total', { route: 'orders' }), 1);
      const listed = (await get(`${node.url}/api/routes`)).body;
      assert.deepEqual(listed.routes.find((r: { name: string }) => r.name === 'orders').queue, { depth: 0, deadLetters: 1 }, 'GET /api/routes counts the dead letter');
      const backendState = listed.backends.find((b: { name: string }) => b.name === 'orders');
      assert.equal(backendState.health, { closed: 'healthy', half_open: 'recovering', open: 'failing' }[backendState.breaker as string]);

      healthy = true;
      const replayed = await post(`${node.url}/api/routes/orders/dead-letters/replay`, {});
      assert.deepEqual(replayed.body, { route: 'orders', replayed: 1, duplicates: 0 });
      await waitUntil(() => backend.calls.length === 3, 5000);
      assert.equal(backend.calls[2]!.body.id, messageId, 'the replayed delivery keeps the message id');
      assert.equal(backend.calls[2]!.body.attempt, 1, 'a replay starts with fresh attempts');
      const again = await post(`${node.url}/api/routes/orders/dead-letters/replay`, { ids: [letters[0].id] });
      assert.deepEqual(again.body, { route: 'orders', replayed: 0, duplicates: 1 });
    });

    it('send a message the backend refuses as bad (4xx) to the dead letters without retrying', async (t) => {
      const { backend, node, client } = await setUp(t, () => ({ status: 422, body: { message: 'invalid order' } }), 5);
      client.send({ type: 'send', id: 1, data: { order: 'nonsense' } });
      await client.next((f) => f.type === 'reply' && f.id === 1);
      await waitUntil(async () => (await get(`${node.url}/api/routes/orders/dead-letters`)).body.deadLetters.length === 1, 5000);
      assert.equal(backend.calls.length, 1);
    });

    it('answer not_found for dead letters of a route that is not durable, and bad_request for bad ids', async (t) => {
      const { node } = await setUp(t, () => ({ body: {} }));
      const missing = await get(`${node.url}/api/routes/nope/dead-letters`);
      assert.equal(missing.status, 404);
      assert.equal((await post(`${node.url}/api/routes/orders/dead-letters/replay`, { ids: [1] })).status, 400);
      assert.equal((await get(`${node.url}/api/routes/orders/dead-letters?limit=0`)).status, 400);
    });
  });
}
