import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHookServer, type HookAnswer, type HookServer } from '../../helpers/auth.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { freePort } from '../../helpers/services.js';

/** What the test backend answers, by the message's action. */
const answers: Record<string, HookAnswer> = {
  ok: { body: { fine: true } },
  text: { body: 'plain words', headers: { 'content-type': 'text/plain; charset=utf-8' } },
  binary: { body: 'not json {', headers: { 'content-type': 'application/octet-stream' } },
  badjson: { body: '{"broken":', headers: { 'content-type': 'application/json' } },
  empty: { status: 204, body: '' },
  crash: { status: 500, body: { error: { message: 'database on fire' } } },
  missing: { status: 404, body: { message: 'no such order' } },
  throttled: { status: 429, body: '' },
  huge: { body: { blob: 'x'.repeat(64 * 1024) } },
  redirect: { status: 302, body: '', headers: { location: '/elsewhere' } },
  slow: { hang: true },
};

describe('backend failures have defined outcomes', () => {
  let backend: HookServer;
  let node: TestNode;
  let client: WsClient;

  before(async () => {
    backend = await startHookServer(({ body }) => answers[body.data.action as string]!);
    const downPort = await freePort();
    node = await startNode({
      'routing.backends': {
        app: { url: backend.url, timeout: '300ms', maxResponseBytes: '16KiB' },
        down: `http://127.0.0.1:${downPort}/`,
      },
      'routing.routes': [
        { name: 'to-down', key: 'down', backend: 'down' },
        { name: 'to-app', key: '$default', backend: 'app' },
      ],
      // Failures here must not open the breaker between the cases.
      'routing.breaker.failures': 1000,
    });
    client = await connectWs(`${node.wsUrl}/ws`);
    await client.next((f) => f.type === 'welcome');
  });

  after(async () => {
    client?.close();
    await node?.stop();
    await backend?.stop();
  });

  const ask = async (action: string) => {
    client.send({ type: 'send', id: action, data: { action } });
    return client.next((f) => f.type === 'reply' && f.id === action, 5000);
  };

  const cases: [action: string, expect: { data?: unknown; code?: string; message?: RegExp }, outcome: string][] = [
    ['ok', { data: { fine: true } }, 'ok'],
    ['text', { data: 'plain words' }, 'ok'],
    ['empty', { data: null }, 'ok'],
    ['binary', { code: 'backend_error', message: /neither JSON nor text/ }, 'bad_body'],
    ['badjson', { code: 'backend_error', message: /neither JSON nor text/ }, 'bad_body'],
    ['crash', { code: 'backend_error', message: /database on fire/ }, 'server_error'],
    ['missing', { code: 'not_found', message: /no such order/ }, 'client_error'],
    ['throttled', { code: 'rate_limited', message: /HTTP 429/ }, 'client_error'],
    ['huge', { code: 'backend_error', message: /more than 16384 bytes/ }, 'too_large'],
    ['redirect', { code: 'backend_error', message: /redirects are not followed/ }, 'redirect'],
    ['slow', { code: 'timeout', message: /within 300 ms/ }, 'timeout'],
    ['down', { code: 'unavailable', message: /unreachable/ }, 'unreachable'],
  ];

  for (const [action, expect, outcome] of cases) {
    it(`answers "${action}" with ${expect.code ?? 'the data'} and counts it as ${outcome}`, async () => {
      const backendName = action === 'down' ? 'down' : 'app';
      const before = (await scrape(node.url)).value('switchboard_backend_calls_total', { backend: backendName, outcome });
      const reply = await ask(action);
      if (expect.code) {
        assert.equal(reply.error?.code, expect.code, JSON.stringify(reply));
        assert.match(reply.error.message, expect.message!);
      } else {
        assert.deepEqual(reply.data, expect.data);
      }
      const afterCount = (await scrape(node.url)).value('switchboard_backend_calls_total', { backend: backendName, outcome });
      assert.equal(afterCount, before + 1);
    });
  }

  it('keeps the session open through every failure', async () => {
    client.send({ type: 'ping', id: 'still-here' });
    await client.next((f) => f.type === 'pong' && f.id === 'still-here');
  });
});
