import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { waitUntil } from '../../helpers/wait.js';

const interval = 150;
const grace = 150;

describe('WebSocket heartbeats and idle timeout', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'sessions.heartbeatInterval': `${interval}ms`, 'sessions.closeGracePeriod': `${grace}ms` });
  });
  after(() => t.stop());

  it('announces the heartbeat interval in the welcome frame', async () => {
    const client = await connectWs(`${t.wsUrl}/ws`);
    assert.equal((await client.next((f) => f.type === 'welcome')).heartbeat, interval);
    client.close();
  });

  it('keeps a client that answers pings connected across several intervals', async () => {
    const client = await connectWs(`${t.wsUrl}/ws?channels=alive`);
    await client.next((f) => f.type === 'welcome');
    for (let i = 0; i < 6; i++) await once(client.ws, 'ping');
    assert.equal(client.ws.readyState, client.ws.OPEN, JSON.stringify(client.inbox.all.at(-1)));
    const res = await post(`${t.url}/api/publish`, { channel: 'alive', data: 'after six pings' });
    assert.equal(res.body.subscribers, 1);
    assert.equal((await client.next((f) => f.type === 'message')).data, 'after six pings');
    assert.equal(
      client.inbox.all.some((f) => f.type === 'disconnect'),
      false,
    );
    client.close();
  });

  it('closes a client that does not answer pings with 4004 after about one interval plus the grace period', async () => {
    const idleClosings = async () => (await scrape(t.url)).value('switchboard_disconnections_total', { reason: 'idle_timeout' });
    const before = await idleClosings();
    const started = Date.now();
    const client = await connectWs(`${t.wsUrl}/ws?channels=silent`, { autoPong: false });
    let pings = 0;
    client.ws.on('ping', () => (pings += 1));
    const closed = await client.closed;
    const elapsed = Date.now() - started;
    assert.equal(closed.code, 4004);
    assert.equal(closed.reason, 'idle_timeout');
    assert.ok(pings >= 1, 'the server sent at least one ping before giving up');
    assert.deepEqual(client.inbox.all.at(-1), { type: 'disconnect', code: 4004, reason: 'idle_timeout' });
    // The first heartbeat is spread over half an interval to one interval after connecting.
    assert.ok(elapsed >= interval / 2 + grace, `closed after ${elapsed} ms`);
    assert.ok(elapsed < interval + grace + 600, `closed after ${elapsed} ms`);
    await waitUntil(async () => (await idleClosings()) === before + 1, 2000, 'the idle timeout to be counted');
  });

  it('counts any frame from the client as a sign of life', async () => {
    const client = await connectWs(`${t.wsUrl}/ws`, { autoPong: false });
    await client.next((f) => f.type === 'welcome');
    let pings = 0;
    client.ws.on('ping', () => {
      pings += 1;
      client.send({ type: 'ping' });
    });
    while (pings < 5) await once(client.ws, 'ping');
    assert.equal(client.ws.readyState, client.ws.OPEN);
    client.close();
  });
});
