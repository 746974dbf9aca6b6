import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectSse, connectWs } from '../../helpers/clients.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { get, startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

describe('disconnecting a session through the API', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode();
  });
  after(() => t.stop());

  async function wsSession() {
    const client = await connectWs(`${t.wsUrl}/ws?channels=room`);
    const id = (await client.next((f) => f.type === 'welcome')).session as string;
    return { client, id };
  }

  it('closes a WebSocket session with DELETE and the reason from the body', async () => {
    const { client, id } = await wsSession();
    try {
      const res = await request('DELETE', `${t.url}/api/sessions/${id}`, { body: { reason: 'moved to another plan' } });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { disconnected: id, reason: 'moved to another plan' });
      assert.deepEqual(await client.next((f) => f.type === 'disconnect'), { type: 'disconnect', code: 4000, reason: 'moved to another plan' });
      assert.deepEqual(await client.closed, { code: 4000, reason: 'moved to another plan' });
      await waitUntil(async () => (await get(`${t.url}/api/sessions/${id}`)).status === 404, 5000, 'the session to end');
    } finally {
      client.close();
    }
  });

  it('takes the reason from the query, or a default one', async () => {
    const first = await wsSession();
    const second = await wsSession();
    try {
      const byQuery = await request('DELETE', `${t.url}/api/sessions/${first.id}?reason=maintenance`);
      assert.deepEqual(byQuery.body, { disconnected: first.id, reason: 'maintenance' });
      assert.equal((await first.client.closed).reason, 'maintenance');
      const byDefault = await request('DELETE', `${t.url}/api/sessions/${second.id}`);
      assert.equal(byDefault.status, 200);
      assert.equal(typeof byDefault.body.reason, 'string');
      assert.ok(byDefault.body.reason.length > 0);
      assert.equal((await second.client.closed).reason, byDefault.body.reason);
    } finally {
      first.client.close();
      second.client.close();
    }
  });

  it('closes a session with POST /api/sessions/:id/disconnect', async () => {
    const { client, id } = await wsSession();
    try {
      const res = await request('POST', `${t.url}/api/sessions/${id}/disconnect`, { body: { reason: 'bye' } });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { disconnected: id, reason: 'bye' });
      assert.deepEqual(await client.closed, { code: 4000, reason: 'bye' });
    } finally {
      client.close();
    }
  });

  it('ends an SSE stream after telling the client why', async () => {
    const sse = await connectSse(`${t.url}/sse?channels=room`);
    try {
      const id = JSON.parse((await sse.next((e) => e.event === 'welcome')).data).session;
      const res = await request('POST', `${t.url}/api/sessions/${id}/disconnect`, { body: { reason: 'policy' } });
      assert.equal(res.status, 200);
      const event = await sse.next((e) => e.event === 'disconnect');
      assert.deepEqual(JSON.parse(event.data), { type: 'disconnect', code: 4000, reason: 'policy' });
      await sse.ended;
    } finally {
      sse.close();
    }
  });

  it('closes with the close code asked for, and refuses one that is not from 4000 to 4999', async () => {
    const { client, id } = await wsSession();
    try {
      for (const code of [1000, 4999.5, '4500', 5000]) {
        const refused = await request('POST', `${t.url}/api/sessions/${id}/disconnect`, { body: { reason: 'no', code } });
        assert.equal(refused.status, 400, String(code));
        assertErrorBody(refused.body, 'bad_request');
      }
      const res = await request('POST', `${t.url}/api/sessions/${id}/disconnect`, { body: { reason: 'account closed', code: 4500 } });
      assert.deepEqual(res.body, { disconnected: id, reason: 'account closed', code: 4500 });
      assert.deepEqual(await client.next((f) => f.type === 'disconnect'), { type: 'disconnect', code: 4500, reason: 'account closed' });
      assert.deepEqual(await client.closed, { code: 4500, reason: 'account closed' });
    } finally {
      client.close();
    }
  });

  it('answers 404 not_found for a session that does not exist', async () => {
    for (const [method, path] of [
      ['DELETE', '/api/sessions/no-such-session'],
      ['POST', '/api/sessions/no-such-session/disconnect'],
    ] as const) {
      const res = await request(method, `${t.url}${path}`, { body: method === 'POST' ? { reason: 'x' } : undefined });
      assert.equal(res.status, 404, `${method} ${path}`);
      assertErrorBody(res.body, 'not_found');
    }
  });

  it('refuses a reason longer than a close frame can carry', async () => {
    const { client, id } = await wsSession();
    try {
      const res = await request('DELETE', `${t.url}/api/sessions/${id}`, { body: { reason: 'r'.repeat(121) } });
      assert.equal(res.status, 400);
      assertErrorBody(res.body, 'bad_request');
      assert.equal((await get(`${t.url}/api/sessions/${id}`)).status, 200, 'the session is still open');
    } finally {
      client.close();
    }
  });

  it('accepts a multi-byte reason that does not fit a close frame, sending it whole in the disconnect frame', async () => {
    const { client, id } = await wsSession();
    try {
      const reason = 'é'.repeat(100);
      const res = await request('DELETE', `${t.url}/api/sessions/${id}`, { body: { reason } });
      assert.equal(res.status, 200);
      assert.deepEqual(await client.next((f) => f.type === 'disconnect'), { type: 'disconnect', code: 4000, reason });
      const closed = await client.closed;
      assert.equal(closed.code, 4000);
      assert.ok(closed.reason.length > 0 && reason.startsWith(closed.reason), closed.reason);
      assert.ok(Buffer.byteLength(closed.reason) <= 123);
    } finally {
      client.close();
    }
  });
});
