import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNdjson, connectSse, connectWs } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { waitUntil } from '../../helpers/wait.js';

const min = 300;
const max = 700;
/** The heartbeat clock checks lifetimes every 50 ms with these settings; leave room for a busy machine. */
const slack = 400;

function assertWithinLifetime(elapsed: number): void {
  assert.ok(elapsed >= min, `closed after ${elapsed} ms, before the minimum lifetime of ${min} ms`);
  assert.ok(elapsed <= max + slack, `closed after ${elapsed} ms, well after the maximum lifetime of ${max} ms`);
}

describe('Connection lifetime with dither', () => {
  describe('Push-compatible sessions (always limited)', () => {
    let t: TestNode;
    before(async () => {
      t = await startNode({ 'sessions.lifetime.min': `${min}ms`, 'sessions.lifetime.max': `${max}ms`, 'sessions.closeGracePeriod': '100ms' });
    });
    after(() => t.stop());

    it('closes each WebSocket session at a random moment between min and max, so reconnects spread', async () => {
      const started = Date.now();
      const clients = await Promise.all(Array.from({ length: 8 }, () => connectWs(`${t.wsUrl}/ws/messages?channels=qwerty`)));
      const closedAt = await Promise.all(clients.map((c) => c.closed.then((closed) => ({ closed, at: Date.now() - started }))));
      for (const { closed, at } of closedAt) {
        assert.equal(closed.code, 1001);
        assert.equal(closed.reason, 'lifetime');
        assertWithinLifetime(at);
      }
      const times = closedAt.map((c) => c.at);
      assert.ok(Math.max(...times) - Math.min(...times) > 0, `all sessions closed at the same moment: ${times.join(', ')}`);
    });

    it('ends each SSE stream between min and max', async () => {
      const started = Date.now();
      const clients = await Promise.all(Array.from({ length: 4 }, () => connectSse(`${t.url}/sse/messages?channels=qwerty`)));
      const endedAt = await Promise.all(clients.map((c) => c.ended.then(() => Date.now() - started)));
      for (const at of endedAt) assertWithinLifetime(at);
      for (const client of clients) assert.ok(client.raw.startsWith('event:heartbeat\ndata:{}\n\n'));
      const lifetimeClosings = async () => (await scrape(t.url)).value('switchboard_disconnections_total', { reason: 'lifetime' });
      await waitUntil(async () => (await lifetimeClosings()) === 12, 2000, 'the lifetime disconnections to be counted');
    });
  });

  describe('native sessions', () => {
    let limited: TestNode;
    let unlimited: TestNode;
    before(async () => {
      limited = await startNode({
        'sessions.lifetime.enabled': true,
        'sessions.lifetime.min': `${min}ms`,
        'sessions.lifetime.max': `${max}ms`,
        'sessions.closeGracePeriod': '100ms',
      });
      unlimited = await startNode({ 'sessions.lifetime.min': '50ms', 'sessions.lifetime.max': '100ms', 'sessions.closeGracePeriod': '100ms' });
    });
    after(async () => {
      await limited.stop();
      await unlimited.stop();
    });

    it('tells a WebSocket client to reconnect, then closes with 4000, between min and max', async () => {
      const started = Date.now();
      const client = await connectWs(`${limited.wsUrl}/ws?channels=a`);
      const closed = await client.closed;
      assertWithinLifetime(Date.now() - started);
      assert.equal(closed.code, 4000);
      assert.equal(closed.reason, 'lifetime');
      assert.deepEqual(client.inbox.all.at(-1), { type: 'reconnect', after: 0, reason: 'lifetime' });
    });

    it('tells an HTTP-streaming client to reconnect, then ends the stream', async () => {
      const client = await connectNdjson(`${limited.url}/stream?channels=a`);
      await client.ended;
      assert.deepEqual(client.inbox.all.at(-1), { type: 'reconnect', after: 0, reason: 'lifetime' });
    });

    it('leaves native sessions open when the lifetime option is off', async () => {
      const client = await connectWs(`${unlimited.wsUrl}/ws?channels=a`);
      await client.next((f) => f.type === 'welcome');
      const outcome = await Promise.race([client.closed, new Promise((r) => setTimeout(() => r('open'), 400))]);
      assert.equal(outcome, 'open');
      client.close();
    });
  });
});
