import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNdjson, connectWs } from '../../helpers/clients.js';
import { get, startNode, type TestNode } from '../../helpers/node.js';

describe('Disconnecting a session through the server API', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode();
  });
  after(() => t.stop());

  async function del(path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${t.url}${path}`, {
      method: 'DELETE',
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() };
  }

  it('sends a disconnect frame with the reason, then closes the WebSocket with 4000', async () => {
    const client = await connectWs(`${t.wsUrl}/ws?channels=a`);
    const { session } = await client.next((f) => f.type === 'welcome');
    const res = await del(`/api/sessions/${session}`, { reason: 'maintenance' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { disconnected: session, reason: 'maintenance' });
    const closed = await client.closed;
    assert.equal(closed.code, 4000);
    assert.equal(closed.reason, 'maintenance');
    assert.deepEqual(client.inbox.all.at(-1), { type: 'disconnect', code: 4000, reason: 'maintenance' });
    assert.equal((await get(`${t.url}/api/sessions/${session}`)).status, 404);
  });

  it('takes the reason from the query string, or uses a default one', async () => {
    const first = await connectWs(`${t.wsUrl}/ws`);
    const one = (await first.next((f) => f.type === 'welcome')).session;
    await del(`/api/sessions/${one}?reason=moved`);
    assert.deepEqual(await first.closed, { code: 4000, reason: 'moved' });
    const second = await connectWs(`${t.wsUrl}/ws`);
    const two = (await second.next((f) => f.type === 'welcome')).session;
    await del(`/api/sessions/${two}`);
    const closed = await second.closed;
    assert.equal(closed.code, 4000);
    assert.equal(closed.reason, 'disconnected by the server');
  });

  it('closes the WebSocket even when the reason is too long for a close frame in UTF-8', async () => {
    const client = await connectWs(`${t.wsUrl}/ws`);
    const { session } = await client.next((f) => f.type === 'welcome');
    const reason = 'é'.repeat(100);
    const res = await del(`/api/sessions/${session}`, { reason });
    assert.equal(res.status, 200);
    const closed = await client.closed;
    assert.equal(closed.code, 4000);
    assert.ok(reason.startsWith(closed.reason) && closed.reason.length > 0, closed.reason);
    assert.deepEqual(client.inbox.all.at(-1), { type: 'disconnect', code: 4000, reason });
  });

  it('tells an HTTP-streaming client why and ends its stream', async () => {
    const client = await connectNdjson(`${t.url}/stream?channels=a`);
    const { session } = await client.next((f) => f.type === 'welcome');
    await del(`/api/sessions/${session}`, { reason: 'bye' });
    await client.ended;
    assert.deepEqual(client.inbox.all.at(-1), { type: 'disconnect', code: 4000, reason: 'bye' });
  });

  it('answers not_found for a session that does not exist', async () => {
    const res = await del('/api/sessions/no-such-session');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found');
  });
});
