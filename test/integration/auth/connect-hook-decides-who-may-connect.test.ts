import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hookCalls, startHookServer, type HookAnswer, type HookServer } from '../../helpers/auth.js';
import { connectSse, connectWs } from '../../helpers/clients.js';
import { assertErrorBody } from '../../helpers/http.js';
import { get, startNode, type TestNode } from '../../helpers/node.js';

/** The hook answers by the `mode` query parameter of the connection request, which it receives. */
function answerFor(mode: string): HookAnswer {
  switch (mode) {
    case 'allow':
      return { body: { allow: true, user: 'vera', context: { tenant: 'acme', plan: 'gold' }, channels: ['news', 'team:acme'], expiresIn: 3600 } };
    case 'short':
      return { body: { allow: true, user: 'wes', expiresIn: 1 } };
    case 'anonymous':
      return { body: { allow: true } };
    case 'deny':
      return { body: { allow: false, reason: 'account suspended' } };
    case 'slow':
      return { body: { allow: true, user: 'late' }, delayMs: 1500 };
    case 'error':
      return { status: 500, body: { allow: true, user: 'broken' } };
    case 'not-json':
      return { body: '<html>oops</html>' };
    case 'no-decision':
      return { body: { allow: 'yes', user: 'vague' } };
    case 'array':
      return { body: [true] };
    default:
      return { status: 404, body: {} };
  }
}

describe('the connect hook decides who may connect', () => {
  let hook: HookServer;
  let t: TestNode;
  let failOpen: TestNode;
  before(async () => {
    hook = await startHookServer((call) => answerFor(call.body?.query?.mode ?? ''));
    const settings = {
      'auth.connectHook.url': `${hook.url}/connect`,
      'auth.connectHook.timeout': '300ms',
      'auth.refreshGrace': '200ms',
      'sessions.closeGracePeriod': '200ms',
      'channels.namespaces': { team: { subscribe: 'server' } },
    };
    t = await startNode(settings);
    failOpen = await startNode({ ...settings, 'auth.connectHook.failOpen': true, 'auth.anonymous': false });
  });
  after(async () => {
    await t.stop();
    await failOpen.stop();
    await hook.stop();
  });

  it('sends the hook the request headers, query, remote address and transport', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws?mode=allow&device=phone`, { headers: { 'x-app-version': '4.2', cookie: 'session=abc' } });
    await ws.next((f) => f.type === 'welcome');
    const call = hook.calls.at(-1)!;
    assert.equal(call.path, '/connect');
    assert.equal(call.headers['content-type'], 'application/json');
    assert.equal(call.body.headers['x-app-version'], '4.2');
    assert.equal(call.body.headers.cookie, 'session=abc');
    assert.deepEqual(call.body.query, { mode: 'allow', device: 'phone' });
    assert.match(call.body.remote, /^127\.0\.0\.1:\d+$/);
    assert.equal(call.body.transport, 'ws');
    ws.close();
  });

  it('admits the user with the context, initial channels and expiry the hook answers', async () => {
    const before = await hookCalls(t.url, 'connect', 'allow');
    const ws = await connectWs(`${t.wsUrl}/ws?mode=allow`);
    const welcome = await ws.next((f) => f.type === 'welcome');
    assert.equal(welcome.user, 'vera');
    assert.deepEqual([...welcome.channels].sort(), ['news', 'team:acme', 'user:vera']);
    await ws.next((f) => f.type === 'subscribed' && f.channel === 'team:acme');
    const session = (await get(`${t.url}/api/sessions/${welcome.session}`)).body;
    assert.deepEqual(session.context, { tenant: 'acme', plan: 'gold' });
    assert.equal(await hookCalls(t.url, 'connect', 'allow'), before + 1);
    // The initial channels are live subscriptions: the server API reaches them.
    await fetch(`${t.url}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'team:acme', data: 'hi team' }) });
    assert.equal((await ws.next((f) => f.type === 'message')).data, 'hi team');
    ws.close();
  });

  it('asks a session to refresh when the expiresIn the hook answered has passed, and closes it with 4005', async () => {
    const connectedAt = Date.now();
    const ws = await connectWs(`${t.wsUrl}/ws?mode=short`);
    assert.equal((await ws.next((f) => f.type === 'welcome')).user, 'wes');
    assert.deepEqual(await ws.next((f) => f.type === 'refresh', 3000), { type: 'refresh', within: 200 });
    assert.ok(Date.now() - connectedAt >= 900, 'not before the expiry');
    assert.equal((await ws.closed).code, 4005);
  });

  it('admits an anonymous session when the hook allows without a user', async () => {
    const sse = await connectSse(`${t.url}/sse?mode=anonymous`);
    assert.equal(sse.status, 200);
    assert.equal(JSON.parse((await sse.next((e) => e.event === 'welcome')).data).user, '');
    assert.equal(hook.calls.at(-1)!.body.transport, 'sse');
    sse.close();
  });

  it('refuses with 403 forbidden and the hook reason when the hook denies, counted as deny', async () => {
    const before = await hookCalls(t.url, 'connect', 'deny');
    await assert.rejects(connectWs(`${t.wsUrl}/ws?mode=deny`), (err: any) => {
      assert.equal(err.status, 403);
      assertErrorBody(JSON.parse(err.body), 'forbidden');
      assert.equal(JSON.parse(err.body).error.message, 'account suspended');
      return true;
    });
    const sse = await fetch(`${t.url}/sse?mode=deny`);
    assert.equal(sse.status, 403);
    assert.equal(await hookCalls(t.url, 'connect', 'deny'), before + 2);
  });

  for (const [mode, outcome] of [
    ['slow', 'timeout'],
    ['error', 'error'],
    ['not-json', 'error'],
    ['no-decision', 'error'],
    ['array', 'error'],
  ] as const) {
    it(`refuses with 503 unavailable when the hook answers ${mode}, counted as ${outcome}`, async () => {
      const before = await hookCalls(t.url, 'connect', outcome);
      const started = Date.now();
      await assert.rejects(connectWs(`${t.wsUrl}/ws?mode=${mode}`), (err: any) => {
        assert.equal(err.status, 503);
        assertErrorBody(JSON.parse(err.body), 'unavailable');
        return true;
      });
      if (mode === 'slow') assert.ok(Date.now() - started < 1200, 'refused at the hook timeout, not when the hook answers');
      assert.equal(await hookCalls(t.url, 'connect', outcome), before + 1);
    });
  }

  it('admits clients as anonymous when the hook fails and auth.connectHook.failOpen is set', async () => {
    for (const mode of ['slow', 'error', 'not-json']) {
      const ws = await connectWs(`${failOpen.wsUrl}/ws?mode=${mode}&channels=news`);
      const welcome = await ws.next((f) => f.type === 'welcome');
      assert.equal(welcome.user, '', mode);
      assert.deepEqual(welcome.channels, ['news']);
      ws.close();
    }
    assert.equal(await hookCalls(failOpen.url, 'connect', 'timeout'), 1);
    assert.equal(await hookCalls(failOpen.url, 'connect', 'error'), 2);
    // failOpen does not turn a denial into an admission.
    await assert.rejects(connectWs(`${failOpen.wsUrl}/ws?mode=deny`), (err: any) => err.status === 403);
  });
});
