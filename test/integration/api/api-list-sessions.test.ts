import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { connectNdjson, connectSse, connectWs } from '../../helpers/clients.js';
import { assertErrorBody } from '../../helpers/http.js';
import { get, startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

describe('listing and reading sessions with GET /api/sessions', () => {
  let t: TestNode;
  const open: { close(): void }[] = [];
  before(async () => {
    t = await startNode({ 'node.id': 'sessions-node' });
  });
  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await waitUntil(() => t.node.registry.size === 0, 5000, 'sessions to end');
  });
  after(() => t.stop());

  async function threeClients() {
    const ws = await connectWs(`${t.wsUrl}/ws?channels=alpha`);
    const sse = await connectSse(`${t.url}/sse?channels=alpha,beta`);
    const stream = await connectNdjson(`${t.url}/stream`);
    const push = await connectWs(`${t.wsUrl}/ws/messages?channels=beta`);
    open.push(ws, sse, stream, push);
    const wsId = (await ws.next((f) => f.type === 'welcome')).session;
    const sseId = JSON.parse((await sse.next((e) => e.event === 'welcome')).data).session;
    const streamId = (await stream.next((f) => f.type === 'welcome')).session;
    await push.next((f) => f.event === 'ping');
    return { wsId, sseId, streamId };
  }

  it('lists every session with its id, transport, remote address, start and channels', async () => {
    const { wsId, sseId, streamId } = await threeClients();
    const res = await get(`${t.url}/api/sessions`);
    assert.equal(res.status, 200);
    const sessions = res.body.sessions as any[];
    assert.equal(sessions.length, 4);
    const byId = new Map(sessions.map((s) => [s.id, s]));
    assert.deepEqual(byId.get(wsId)!.channels, ['alpha']);
    assert.equal(byId.get(wsId)!.transport, 'ws');
    assert.deepEqual(byId.get(sseId)!.channels.sort(), ['alpha', 'beta']);
    assert.equal(byId.get(sseId)!.transport, 'sse');
    assert.deepEqual(byId.get(streamId)!.channels, []);
    assert.equal(byId.get(streamId)!.transport, 'http-stream');
    const push = sessions.find((s) => ![wsId, sseId, streamId].includes(s.id));
    assert.equal(push.transport, 'push-ws');
    for (const s of sessions) {
      assert.equal(s.node, 'sessions-node');
      assert.equal(s.user, '');
      assert.match(s.remote, /^127\.0\.0\.1:\d+$/);
      assert.ok(Math.abs(Date.parse(s.connectedAt) - Date.now()) < 60_000, s.connectedAt);
    }
  });

  it('filters by channel and by user', async () => {
    const { wsId, sseId } = await threeClients();
    const alpha = (await get(`${t.url}/api/sessions?channel=alpha`)).body.sessions.map((s: any) => s.id).sort();
    assert.deepEqual(alpha, [wsId, sseId].sort());
    assert.equal((await get(`${t.url}/api/sessions?channel=beta`)).body.sessions.length, 2);
    assert.deepEqual((await get(`${t.url}/api/sessions?channel=gamma`)).body.sessions, []);
    // Without authentication every session belongs to the anonymous user ''.
    assert.deepEqual((await get(`${t.url}/api/sessions?user=alice`)).body.sessions, []);
    assert.equal((await get(`${t.url}/api/sessions?user=`)).body.sessions.length, 4);
    assert.deepEqual((await get(`${t.url}/api/sessions?user=&channel=alpha`)).body.sessions.map((s: any) => s.id).sort(), [wsId, sseId].sort());
  });

  it('reads one session by id and answers 404 not_found for an unknown id', async () => {
    const { sseId } = await threeClients();
    const res = await get(`${t.url}/api/sessions/${sseId}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.id, sseId);
    assert.equal(res.body.transport, 'sse');
    assert.deepEqual(res.body.channels.sort(), ['alpha', 'beta']);
    const missing = await get(`${t.url}/api/sessions/00000000-0000-0000-0000-000000000000`);
    assert.equal(missing.status, 404);
    assertErrorBody(missing.body, 'not_found');
  });

  it('stops listing a session once its client is gone', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws?channels=alpha`);
    open.push(ws);
    const id = (await ws.next((f) => f.type === 'welcome')).session;
    assert.equal((await get(`${t.url}/api/sessions/${id}`)).status, 200);
    ws.close();
    await waitUntil(async () => (await get(`${t.url}/api/sessions/${id}`)).status === 404, 5000, 'the session to end');
    assert.deepEqual((await get(`${t.url}/api/sessions`)).body.sessions, []);
  });
});
