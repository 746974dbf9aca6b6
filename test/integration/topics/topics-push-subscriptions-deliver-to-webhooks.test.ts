import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { freePort } from '../../helpers/services.js';
import { waitUntil } from '../../helpers/wait.js';

const secret = 'webhook-secret-0123456789';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A webhook server whose behaviour depends on the path: ok, fail (500), slow, loop (redirect to itself). */
async function startWebhook(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      if (req.url === '/ok') res.writeHead(204).end();
      else if (req.url === '/fail') res.writeHead(500).end('broken');
      else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end(), 1500).unref();
      else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
      else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

describe('push subscriptions deliver to webhooks, retry with backoff and end in the dead-letter topic', () => {
  let node: TestNode;
  let hook: Awaited<ReturnType<typeof startWebhook>>;
  const api = (path: string) => `${node.url}/api/topics${path}`;

  before(async () => {
    hook = await startWebhook();
    node = await startNode({
      'topics.push.timeout': '300ms',
      'topics.push.minBackoff': '20ms',
      'topics.push.maxBackoff': '80ms',
      'security.allowedPrivateTargets': ['127.0.0.1'],
    });
    await request('POST', api('/applications'), { body: { id: 'hooks' } });
    await request('POST', api('/hooks/topics'), { body: { name: 'dead' } });
  });
  after(async () => {
    await node?.stop();
    hook?.server.closeAllConnections();
    hook?.server.close();
  });

  async function pushSubscription(name: string, endpoint: string): Promise<void> {
    await request('POST', api('/hooks/topics'), { body: { name } });
    const res = await request('POST', api('/hooks/subscriptions'), {
      body: { name, topic: name, ackDeadlineMs: 5000, maxDeliveryAttempts: 3, deadLetterTopic: 'dead', push: { endpoint, secret } },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.type, 'push');
    assert.equal(res.body.push.secret, undefined, 'the secret is never shown');
  }

  async function deadLetterOf(subscription: string): Promise<Record<string, string>> {
    let found: Record<string, string> | undefined;
    await waitUntil(
      async () => {
        const dead = await request('GET', api('/hooks/topics/dead/messages?limit=100'));
        found = dead.body.messages.find((m: { attributes: Record<string, string> }) => m.attributes['sb-subscription'] === `hooks/${subscription}`)?.attributes;
        return found !== undefined;
      },
      8000,
      `the dead letter of ${subscription}`,
    );
    return found!;
  }

  it('POSTs each message with a verifiable HMAC signature and acknowledges it on a 2xx answer', async () => {
    await pushSubscription('orders', `${hook.url}/ok`);
    const published = await request('POST', api('/hooks/topics/orders/publish'), { body: { data: { order: 7 }, attributes: { kind: 'paid' } } });
    await waitUntil(() => hook.received.some((r) => r.path === '/ok'), 5000, 'the webhook call');
    const call = hook.received.find((r) => r.path === '/ok')!;
    const [, time, signature] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(call.headers['x-switchboard-signature'] as string)!;
    assert.equal(signature, createHmac('sha256', secret).update(`${time}.${call.body}`).digest('hex'));
    const body = JSON.parse(call.body);
    assert.deepEqual(body.message.data, { order: 7 });
    assert.equal(body.message.id, published.body.id);
    assert.equal(body.attempt, 1);
    assert.equal(call.headers['x-switchboard-message-id'], published.body.id);
    await waitUntil(async () => (await request('GET', api('/hooks/subscriptions/orders'))).body.stats.unacked === 0, 3000, 'the ack');
    assert.equal((await scrape(node.url)).value('switchboard_topic_push_attempts_total', { subscription: 'hooks/orders', outcome: 'ok' }), 1);
  });

  for (const [name, path, outcome] of [
    ['failing', '/fail', 'http_error'],
    ['slow', '/slow', 'timeout'],
    ['looping', '/loop', 'redirect'],
  ] as const) {
    it(`moves a message to the dead-letter topic after 3 attempts when the webhook ${name === 'failing' ? 'answers 500' : name === 'slow' ? 'times out' : 'redirects in a loop'}`, async () => {
      await pushSubscription(name, `${hook.url}${path}`);
      const published = await request('POST', api(`/hooks/topics/${name}/publish`), { body: { data: name } });
      const dead = await deadLetterOf(name);
      assert.equal(dead['sb-original-id'], published.body.id);
      assert.equal(dead['sb-delivery-attempts'], '3');
      assert.equal(hook.received.filter((r) => r.path === path).length, 3, 'redirects are not followed');
      const attempts = hook.received.filter((r) => r.path === path).map((r) => Number(r.headers['x-switchboard-attempt']));
      assert.deepEqual(attempts, [1, 2, 3]);
      const metrics = await scrape(node.url);
      assert.equal(metrics.value('switchboard_topic_push_attempts_total', { subscription: `hooks/${name}`, outcome }), 3);
      assert.equal(metrics.value('switchboard_topic_messages_dead_lettered_total', { subscription: `hooks/${name}` }), 1);
    });
  }

  it('moves a message to the dead-letter topic after 3 attempts when nothing listens at the webhook', async () => {
    await pushSubscription('down', `http://127.0.0.1:${await freePort()}/gone`);
    await request('POST', api('/hooks/topics/down/publish'), { body: { data: 'down' } });
    const dead = await deadLetterOf('down');
    assert.equal(dead['sb-delivery-attempts'], '3');
    assert.equal((await scrape(node.url)).value('switchboard_topic_push_attempts_total', { subscription: 'hooks/down', outcome: 'unreachable' }), 3);
  });
});
