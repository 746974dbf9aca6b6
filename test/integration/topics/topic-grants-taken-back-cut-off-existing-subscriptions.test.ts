import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { startRedis, type Service } from '../../helpers/services.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

/** A webhook that takes every delivery and remembers its body. */
async function startWebhook(): Promise<{ server: Server; url: string; bodies: any[] }> {
  const bodies: any[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}

const stores = [
  { name: 'the memory store (one node)', redis: false },
  { name: 'the Redis store, revoked through one node and read through another', redis: true },
];

for (const store of stores) {
  describe(`on ${store.name}, taking a topic grant back cuts off the grantee's existing subscriptions`, { skip: store.redis && requireTool('redis-server') }, () => {
    let redis: Service | undefined;
    let owner: TestNode;
    let reader: TestNode;
    let webhook: Awaited<ReturnType<typeof startWebhook>>;
    const at = (node: TestNode, path: string) => `${node.url}/api/topics${path}`;
    const grant = (allow: boolean) => request(allow ? 'PUT' : 'DELETE', at(owner, '/shop/topics/orders/grants/analytics'));
    const published: unknown[] = [];
    const publish = (data: unknown) => {
      published.push(data);
      return request('POST', at(owner, '/shop/topics/orders/publish'), { body: { data } });
    };
    const pull = (sub: string, waitMs = 0) => request('POST', at(reader, `/analytics/subscriptions/${sub}/pull`), { body: { maxMessages: 10, waitMs } });

    before(async () => {
      webhook = await startWebhook();
      const push = { 'topics.push.minBackoff': '20ms', 'topics.push.maxBackoff': '80ms', 'security.allowedPrivateTargets': ['127.0.0.1'] };
      if (store.redis) {
        redis = await startRedis();
        const overrides = { 'broker.type': 'redis', 'broker.redis.url': redis.url, ...push };
        owner = await startNode(overrides);
        reader = await startNode(overrides);
      } else {
        owner = reader = await startNode(push);
      }
      for (const id of ['shop', 'analytics']) assert.equal((await request('POST', at(owner, '/applications'), { body: { id } })).status, 201);
      await request('POST', at(owner, '/shop/topics'), { body: { name: 'orders' } });
      await request('POST', at(owner, '/shop/subscriptions'), { body: { name: 'billing', topic: 'orders' } });
      await request('POST', at(owner, '/analytics/topics'), { body: { name: 'dead' } });
      assert.equal((await grant(true)).status, 200);
      for (const name of ['puller', 'streamer']) {
        const created = await request('POST', at(owner, '/analytics/subscriptions'), { body: { name, topic: 'shop/orders', ackDeadlineMs: 30_000 } });
        assert.equal(created.status, 201, created.text);
      }
      const pushed = await request('POST', at(owner, '/analytics/subscriptions'), {
        body: { name: 'pusher', topic: 'shop/orders', maxDeliveryAttempts: 2, deadLetterTopic: 'dead', push: { endpoint: webhook.url, secret: 'a-webhook-secret-123' } },
      });
      assert.equal(pushed.status, 201, pushed.text);
    });
    after(async () => {
      await owner?.stop();
      if (reader !== owner) await reader?.stop();
      await redis?.stop();
      webhook?.server.closeAllConnections();
      webhook?.server.close();
    });

    it('refuses pull, ack, nack, modify-deadline and seek with forbidden, then serves them again after a new grant', async () => {
      await publish('before');
      const first = await pull('puller', 2000);
      assert.deepEqual(
        first.body.messages.map((m: any) => m.message.data),
        ['before'],
      );
      const ackIds = first.body.messages.map((m: any) => m.ackId);
      await waitUntil(() => webhook.bodies.some((b) => b.message.data === 'before'), 5000, 'the push delivery before the grant is taken back');

      assert.equal((await grant(false)).status, 200);
      await publish('after');
      for (const [path, body] of [
        ['pull', { maxMessages: 10, waitMs: 0 }],
        ['ack', { ackIds }],
        ['nack', { ackIds }],
        ['modify-deadline', { ackIds, deadlineMs: 60_000 }],
        ['seek', { time: 0 }],
      ] as const) {
        const refused = await request('POST', at(reader, `/analytics/subscriptions/puller/${path}`), { body });
        assert.equal(refused.status, 403, `${path}: ${refused.text}`);
        assert.equal(refused.body.error.code, 'forbidden');
      }
      // The owner's own subscription is not affected.
      const own = await request('POST', at(reader, '/shop/subscriptions/billing/pull'), { body: { maxMessages: 10, waitMs: 2000 } });
      assert.deepEqual(
        own.body.messages.map((m: any) => m.message.data),
        ['before', 'after'],
      );

      assert.equal((await grant(true)).status, 200);
      const again = await pull('puller', 2000);
      assert.deepEqual(
        again.body.messages.map((m: any) => m.message.data),
        ['after'],
      );
      const acked = await request('POST', at(reader, '/analytics/subscriptions/puller/ack'), { body: { ackIds: [...ackIds, again.body.messages[0].ackId] } });
      assert.deepEqual(
        acked.body.results.map((r: any) => r.ok),
        [true, true],
      );
    });

    it('ends a streaming pull with a forbidden error when the grant is taken back, before it hands out anything new', async () => {
      const ws = new WebSocket(`${reader.wsUrl}/api/topics/analytics/subscriptions/streamer/stream`);
      const frames: any[] = [];
      ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
      let closedWith: number | undefined;
      ws.on('close', (code) => (closedWith = code));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      await publish('streamed');
      await waitUntil(() => frames.some((f) => f.type === 'message' && f.message.data === 'streamed'), 5000, 'the streamed message');
      assert.equal((await grant(false)).status, 200);
      await publish('secret');
      await waitUntil(() => closedWith !== undefined, 5000, 'the stream to close');
      assert.equal(closedWith, 4502);
      assert.equal(frames.at(-1).type, 'error');
      assert.equal(frames.at(-1).error.code, 'forbidden');
      assert.equal(frames.filter((f) => f.type === 'message' && f.message.data === 'secret').length, 0);
      assert.equal((await grant(true)).status, 200);
    });

    it('stops push deliveries while the grant is gone without dead-lettering or using up attempts, and delivers once it is back', async () => {
      // A message pulled while the grant was there may still be on its way to the webhook: only
      // once every earlier message has arrived does the count below stand for what comes after.
      const earlier = [...published];
      await waitUntil(() => earlier.every((data) => webhook.bodies.some((b) => b.message.data === data)), 8000, 'every earlier message at the webhook');
      assert.equal((await grant(false)).status, 200);
      const deliveredBefore = webhook.bodies.length;
      await publish('held');
      // Longer than the backoff of every attempt the subscription has (2, 20-80 ms apart) and a pull wait.
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(webhook.bodies.length, deliveredBefore, JSON.stringify(webhook.bodies.slice(deliveredBefore)));
      const dead = await request('GET', at(reader, '/analytics/subscriptions/pusher/dead-letters'));
      assert.deepEqual(dead.body.messages, []);
      for (const node of new Set([owner, reader])) {
        assert.equal((await scrape(node.url)).value('switchboard_topic_messages_dead_lettered_total', { subscription: 'analytics/pusher' }), 0);
      }
      assert.equal((await grant(true)).status, 200);
      await waitUntil(() => webhook.bodies.some((b) => b.message.data === 'held'), 8000, 'the held message after the new grant');
      // A pull that was waiting when the grant went gave the message back without counting an attempt.
      assert.deepEqual(
        webhook.bodies.filter((b) => b.message.data === 'held').map((b) => b.attempt),
        [1],
      );
    });
  });
}
