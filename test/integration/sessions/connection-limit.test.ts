import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNdjson, connectSse, connectWs } from '../../helpers/clients.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { rawHttp } from '../../helpers/raw-http.js';
import { waitUntil } from '../../helpers/wait.js';

async function refusedUpgrade(url: string): Promise<{ status?: number; body: unknown }> {
  try {
    const client = await connectWs(url);
    client.close();
  } catch (err) {
    const e = err as Error & { status?: number; body?: string };
    return { status: e.status, body: e.body ? JSON.parse(e.body) : undefined };
  }
  throw new Error(`connection to ${url} was accepted`);
}

describe('limits.maxConnections', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'limits.maxConnections': 2 });
  });
  after(() => t.stop());

  it('refuses the connection after the limit with 503 unavailable on every transport, and counts it', async () => {
    const first = await connectWs(`${t.wsUrl}/ws?channels=a`);
    const second = await connectSse(`${t.url}/sse?channels=a`);
    try {
      await first.next((f) => f.type === 'welcome');
      await second.next((e) => e.event === 'welcome');
      const before = (await scrape(t.url)).value('switchboard_limit_hits_total', { limit: 'connections' });

      for (const path of ['/ws?channels=a', '/ws/messages?channels=a']) {
        const refused = await refusedUpgrade(`${t.wsUrl}${path}`);
        assert.equal(refused.status, 503, path);
        assertErrorBody(refused.body, 'unavailable');
      }
      for (const path of ['/sse?channels=a', '/stream?channels=a', '/sse/messages?channels=a']) {
        const res = await request('GET', `${t.url}${path}`);
        assert.equal(res.status, 503, path);
        assertErrorBody(res.body, 'unavailable');
      }
      const m = await scrape(t.url);
      assert.equal(m.value('switchboard_limit_hits_total', { limit: 'connections' }) - before, 5);
      assert.equal(m.value('switchboard_sessions', { transport: 'ws' }), 1);
      assert.equal(m.value('switchboard_sessions', { transport: 'sse' }), 1);
      // The API and the probes are not client connections and keep answering.
      assert.equal((await request('GET', `${t.url}/readyz`)).status, 200);
    } finally {
      first.close();
      second.close();
    }
  });

  it('accepts connections again once others have ended', async () => {
    await waitUntil(() => t.node.registry.size === 0, 5000, 'earlier sessions to end');
    const a = await connectNdjson(`${t.url}/stream`);
    const b = await connectWs(`${t.wsUrl}/ws`);
    try {
      await b.next((f) => f.type === 'welcome');
      assert.equal((await refusedUpgrade(`${t.wsUrl}/ws`)).status, 503);
      a.close();
      await waitUntil(() => t.node.registry.size === 1, 5000, 'the stream session to end');
      const c = await connectWs(`${t.wsUrl}/ws`);
      await c.next((f) => f.type === 'welcome');
      c.close();
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('limits.maxConnectionsPerIp', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'limits.maxConnectionsPerIp': 2, 'channels.default.historySize': 5 });
  });
  after(() => t.stop());

  it('refuses a further connection from the same IP with 429 rate_limited on every transport, and counts it', async () => {
    const first = await connectWs(`${t.wsUrl}/ws?channels=a`);
    const second = await connectSse(`${t.url}/sse?channels=a`);
    try {
      await first.next((f) => f.type === 'welcome');
      await second.next((e) => e.event === 'welcome');
      const before = (await scrape(t.url)).value('switchboard_limit_hits_total', { limit: 'connections_per_ip' });
      const paths = ['/ws?channels=a', '/ws/messages?channels=a', '/sse?channels=a', '/stream?channels=a', '/sse/messages?channels=a', '/poll?channels=a'];
      for (const path of paths) {
        const answer = await rawHttp(t.node.port, { method: 'GET', target: path, upgrade: path.startsWith('/ws') });
        assert.equal(answer.status, 429, `${path}: ${answer.text}`);
        assertErrorBody(JSON.parse(answer.body), 'rate_limited');
      }
      assert.equal((await scrape(t.url)).value('switchboard_limit_hits_total', { limit: 'connections_per_ip' }) - before, paths.length);
      // Another address is not held back by this one.
      const elsewhere = await rawHttp(t.node.port, { method: 'GET', target: '/ws?channels=a', upgrade: true, localAddress: '127.0.0.2' });
      assert.equal(elsewhere.status, 101);
    } finally {
      first.close();
      second.close();
    }
    await waitUntil(() => t.node.registry.size === 0, 5000, 'the sessions to end');
    const again = await connectWs(`${t.wsUrl}/ws`);
    await again.next((f) => f.type === 'welcome');
    again.close();
  });
});
