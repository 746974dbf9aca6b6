import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startHookServer } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { get, startNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { startNats, startRedis, type Service } from '../../helpers/services.js';
import { requireTool, type Tool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

const stores: { name: string; tool: Tool; start(): Promise<Service>; settings(service: Service): Record<string, unknown> }[] = [
  { name: 'redis', tool: 'redis-server', start: startRedis, settings: (s) => ({ 'broker.type': 'redis', 'broker.redis.url': s.url }) },
  { name: 'nats', tool: 'nats-server', start: startNats, settings: (s) => ({ 'broker.type': 'nats', 'broker.nats.servers': s.url }) },
];

/** Far longer than the default maxAttempts (5) x backoff (0.5 s doubling) and than several breaker openings (10 s). */
const outageMs = 60_000;
const messages = 100;

// The stores run side by side: each case spends most of its time waiting out the outage.
describe('a durable route with the default settings loses nothing to a 60 s backend outage', { concurrency: true }, () => {
  for (const store of stores) {
    it(`on ${store.name}: 100 messages queued during the outage are all delivered after it, none dead-lettered`, { timeout: 180_000, skip: requireTool(store.tool) }, async (t) => {
      const service = await store.start();
      let down = true;
      /** Message id -> the attempt number of its successful delivery. */
      const delivered = new Map<string, number>();
      const backend = await startHookServer((call) => {
        if (down) return { status: 503, body: { error: 'down for maintenance' } };
        delivered.set(call.body.id, call.body.attempt);
        return { body: { ok: true } };
      });
      const node = await startNode({
        ...store.settings(service),
        'routing.backends': { orders: backend.url },
        'routing.routes': [{ name: 'orders', key: '$default', backend: 'orders', durable: true }],
      });
      const client = await connectWs(`${node.wsUrl}/ws`);
      t.after(async () => {
        client.close();
        await node.stop();
        await backend.stop();
        await service.stop();
      });

      for (let i = 1; i <= messages; i++) client.send({ type: 'send', id: i, data: { order: i } });
      const accepted = new Set<string>();
      for (let i = 1; i <= messages; i++) accepted.add((await client.next((f) => f.type === 'reply' && f.id === i)).data.messageId);
      assert.equal(accepted.size, messages);

      await new Promise((resolve) => setTimeout(resolve, outageMs));
      const callsDuringOutage = backend.calls.length;
      down = false;

      await waitUntil(() => delivered.size === messages, 60_000);
      assert.deepEqual(new Set(delivered.keys()), accepted, 'every accepted message reached the backend');
      // Only the calls of the first pull, before the breaker opened, were attempts: refusals by the
      // breaker and failed probes are not charged to the messages.
      assert.ok(Math.max(...delivered.values()) <= 2, `attempts on delivery: ${[...new Set(delivered.values())].sort().join(', ')}`);
      const letters = (await get(`${node.url}/api/routes/orders/dead-letters`)).body.deadLetters;
      assert.deepEqual(letters, [], 'no message went to the dead letters');
      assert.equal((await scrape(node.url)).value('switchboard_durable_dead_letters_total', { route: 'orders' }), 0);
      // The first pull's calls open the breaker; then one probe per openFor (10 s) is all that goes out.
      assert.ok(callsDuringOutage <= 16 + outageMs / 10_000 + 2, `${callsDuringOutage} calls during the outage`);
    });
  }
});
