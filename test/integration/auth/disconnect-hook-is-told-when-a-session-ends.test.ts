import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, hmacToken, hookCalls, startHookServer, type HookServer } from '../../helpers/auth.js';
import { connectSse, connectWs } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

const secret = 'disconnect-secret';

describe('the disconnect hook is told when a session ends', () => {
  let hook: HookServer;
  let t: TestNode;
  before(async () => {
    hook = await startHookServer(() => ({ body: {} }));
    t = await startNode({ 'auth.jwt.secrets': [secret], 'auth.disconnectHook.url': `${hook.url}/gone` });
  });
  after(async () => {
    await t.stop();
    await hook.stop();
  });

  it('posts the user, context, reason and duration after a client closes', async () => {
    const token = await hmacToken(secret, { sub: 'xena', tenant: 'acme' }, { expiresIn: 600 });
    const ws = await connectWs(`${t.wsUrl}/ws`, { headers: bearer(token) });
    const { session } = await ws.next((f) => f.type === 'welcome');
    await new Promise((r) => setTimeout(r, 150));
    ws.ws.close(1000);
    await waitUntil(() => hook.calls.some((c) => c.body.session === session), 3000, 'the disconnect hook call');
    const call = hook.calls.find((c) => c.body.session === session)!;
    assert.equal(call.path, '/gone');
    assert.equal(call.body.user, 'xena');
    assert.equal(call.body.context.tenant, 'acme');
    assert.equal(call.body.reason, 'client_closed');
    assert.equal(call.body.node, t.node.id);
    assert.ok(call.body.durationMs >= 140 && call.body.durationMs < 3000, `durationMs ${call.body.durationMs}`);
    assert.ok(!Number.isNaN(Date.parse(call.body.connectedAt)));
    assert.equal(await hookCalls(t.url, 'disconnect', 'allow'), 1);
  });

  it('gives the reason the server closed with, such as an API disconnect', async () => {
    const sse = await connectSse(`${t.url}/sse`);
    const { session } = JSON.parse((await sse.next((e) => e.event === 'welcome')).data);
    await post(`${t.url}/api/sessions/${session}/disconnect`, { reason: 'maintenance' });
    await waitUntil(() => hook.calls.some((c) => c.body.session === session), 3000, 'the disconnect hook call');
    const call = hook.calls.find((c) => c.body.session === session)!;
    assert.equal(call.body.reason, 'maintenance');
    assert.equal(call.body.user, '');
  });
});

describe('a failing disconnect hook', () => {
  let hook: HookServer;
  let t: TestNode;
  let failuresLeft = 0;
  before(async () => {
    hook = await startHookServer((call) => {
      if (call.body?.user === 'hang') return { hang: true };
      if (failuresLeft > 0) {
        failuresLeft--;
        return { status: 500, body: {} };
      }
      return { body: {} };
    });
    t = await startNode({
      'auth.jwt.secrets': [secret],
      'auth.disconnectHook.url': `${hook.url}/gone`,
      'auth.disconnectHook.retries': 2,
      'auth.disconnectHook.timeout': '3s',
    });
  });
  after(async () => {
    await t.stop();
    await hook.stop();
  });

  async function endSession(user: string): Promise<string> {
    const ws = await connectWs(`${t.wsUrl}/ws`, { headers: bearer(await hmacToken(secret, { sub: user }, { expiresIn: 600 })) });
    const { session } = await ws.next((f) => f.type === 'welcome');
    ws.close();
    return session;
  }

  const callsFor = (session: string) => hook.calls.filter((c) => c.body.session === session).length;

  it('is retried until it succeeds', async () => {
    failuresLeft = 2;
    const session = await endSession('yara');
    await waitUntil(() => callsFor(session) === 3, 5000, 'three calls');
    assert.equal(await hookCalls(t.url, 'disconnect', 'error'), 2);
    assert.equal(await hookCalls(t.url, 'disconnect', 'allow'), 1);
  });

  it('is retried auth.disconnectHook.retries times and then given up', async () => {
    failuresLeft = 100;
    const session = await endSession('zack');
    await waitUntil(() => callsFor(session) === 3, 5000, 'three calls');
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(callsFor(session), 3, 'one call and two retries, no more');
    failuresLeft = 0;
  });

  it('never blocks the node: clients connect and publications flow while the hook hangs', async () => {
    const hung = await endSession('hang');
    await waitUntil(() => callsFor(hung) === 1, 3000, 'the hanging call');
    const started = Date.now();
    const listener = await connectWs(`${t.wsUrl}/ws?channels=news`);
    await listener.next((f) => f.type === 'subscribed');
    const res = await post(`${t.url}/api/publish`, { channel: 'news', data: 'flowing' });
    assert.equal(res.body.subscribers, 1);
    assert.equal((await listener.next((f) => f.type === 'message')).data, 'flowing');
    assert.ok(Date.now() - started < 2000, 'nothing waited for the hook');
    assert.equal(await hookCalls(t.url, 'disconnect', 'timeout'), 0, 'the hook call is still hanging');
    listener.close();
  });
});
