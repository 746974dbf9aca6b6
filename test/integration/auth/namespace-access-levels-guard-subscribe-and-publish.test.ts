import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authFailures, bearer, hmacToken, hookCalls, startHookServer, type HookServer } from '../../helpers/auth.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';

const secret = 'permissions-secret';

describe('namespace access levels guard client subscribe and publish', () => {
  let t: TestNode;
  let hooks: HookServer;
  before(async () => {
    hooks = await startHookServer((call) => {
      const { channel, data, user } = call.body;
      if (call.path === '/subscribe') {
        if (channel === 'mod:broken') return { status: 500, body: {} };
        return channel === 'mod:open' && user !== '' ? { body: { allow: true } } : { body: { allow: false, reason: `${user || 'anonymous'} may not read ${channel}` } };
      }
      if (data?.spam) return { body: { allow: false, reason: 'spam is not welcome' } };
      if (typeof data?.text === 'string') return { body: { allow: true, data: { ...data, text: data.text.replace(/darn/g, '****'), checkedBy: 'moderator' } } };
      return { body: { allow: true } };
    });
    t = await startNode({
      'auth.jwt.secrets': [secret],
      'channels.namespaces': {
        members: { subscribe: 'authenticated', publish: 'authenticated' },
        team: { subscribe: 'claim', publish: 'claim', claim: 'teams' },
        vault: { subscribe: 'token' },
        mod: { subscribe: 'hook', publish: 'hook', subscribeHook: `${hooks.url}/subscribe`, publishHook: `${hooks.url}/publish` },
        ops: { subscribe: 'server', publish: 'server' },
      },
    });
  });
  after(async () => {
    await t.stop();
    await hooks.stop();
  });

  async function client(claims?: Record<string, unknown>): Promise<WsClient> {
    const headers = claims ? bearer(await hmacToken(secret, claims, { expiresIn: 600 })) : {};
    const ws = await connectWs(`${t.wsUrl}/ws`, { headers });
    await ws.next((f) => f.type === 'welcome');
    return ws;
  }

  let frameId = 0;
  /** Sends a frame and answers the error code of its reply, or undefined when it succeeded. */
  async function attempt(ws: WsClient, frame: Record<string, unknown>): Promise<string | undefined> {
    const id = ++frameId;
    ws.send({ ...frame, id });
    const answer = await ws.next((f) => f.id === id && (f.type === 'reply' || f.type === 'subscribed'));
    return answer.error?.code;
  }

  it('authenticated: any user with a token may subscribe and publish, anonymous clients may not', async () => {
    const anonymous = await client();
    const user = await client({ sub: 'gus' });
    assert.equal(await attempt(anonymous, { type: 'subscribe', channel: 'members:lounge' }), 'forbidden');
    assert.equal(await attempt(anonymous, { type: 'publish', channel: 'members:lounge', data: 1 }), 'forbidden');
    assert.equal(await attempt(user, { type: 'subscribe', channel: 'members:lounge' }), undefined);
    assert.equal(await attempt(user, { type: 'publish', channel: 'members:lounge', data: 'hi' }), undefined);
    assert.equal((await user.next((f) => f.type === 'message')).data, 'hi');
    await assert.rejects(connectWs(`${t.wsUrl}/ws?channels=members:lounge`), (err: any) => err.status === 403);
    anonymous.close();
    user.close();
  });

  it('claim: users whose claim lists the channel, or its namespace with :*, may use it', async () => {
    const red = await client({ sub: 'hal', teams: ['team:red'] });
    const all = await client({ sub: 'ida', teams: 'team:*' });
    const none = await client({ sub: 'jon' });
    assert.equal(await attempt(red, { type: 'subscribe', channel: 'team:red' }), undefined);
    assert.equal(await attempt(red, { type: 'subscribe', channel: 'team:blue' }), 'forbidden');
    assert.equal(await attempt(all, { type: 'subscribe', channel: 'team:blue' }), undefined);
    assert.equal(await attempt(all, { type: 'publish', channel: 'team:red', data: 'from ida' }), undefined);
    assert.equal((await red.next((f) => f.type === 'message')).data, 'from ida');
    assert.equal(await attempt(none, { type: 'subscribe', channel: 'team:red' }), 'forbidden');
    assert.equal(await attempt(none, { type: 'publish', channel: 'team:red', data: 1 }), 'forbidden');
    const ws = await connectWs(`${t.wsUrl}/ws?channels=team:red`, { headers: bearer(await hmacToken(secret, { sub: 'hal', teams: ['team:red'] })) });
    await ws.next((f) => f.type === 'subscribed' && f.channel === 'team:red');
    for (const c of [red, all, none, ws]) c.close();
  });

  it('token: a subscription token for the channel and the same user opens it', async () => {
    const ws = await client({ sub: 'kai' });
    const grant = (claims: Record<string, unknown>) => hmacToken(secret, claims, { expiresIn: 60 });
    assert.equal(await attempt(ws, { type: 'subscribe', channel: 'vault:plans' }), 'forbidden', 'no token');
    assert.equal(await attempt(ws, { type: 'subscribe', channel: 'vault:plans', token: await grant({ sub: 'kai', channel: 'vault:other' }) }), 'forbidden', 'another channel');
    assert.equal(await attempt(ws, { type: 'subscribe', channel: 'vault:plans', token: await grant({ sub: 'lia', channel: 'vault:plans' }) }), 'forbidden', 'another user');
    const before = await authFailures(t.url, 'signature');
    assert.equal(await attempt(ws, { type: 'subscribe', channel: 'vault:plans', token: await hmacToken('forged', { sub: 'kai', channel: 'vault:plans' }) }), 'forbidden', 'forged');
    assert.equal(await authFailures(t.url, 'signature'), before + 1);
    assert.equal(await attempt(ws, { type: 'subscribe', channel: 'vault:plans', token: await grant({ sub: 'kai', channel: 'vault:plans' }) }), undefined);
    await post(`${t.url}/api/publish`, { channel: 'vault:plans', data: 'secret plan' });
    assert.equal((await ws.next((f) => f.type === 'message')).data, 'secret plan');
    assert.equal(await attempt(ws, { type: 'publish', channel: 'vault:plans', data: 1 }), 'forbidden', 'token is a subscribe level');
    const revokedGrant = await hmacToken(secret, { sub: 'kai', channel: 'vault:minutes' }, { expiresIn: 60, jti: 'grant-minutes' });
    assert.equal((await post(`${t.url}/api/revocations`, { jti: 'grant-minutes', expiresIn: 60 })).status, 200);
    const revoked = await authFailures(t.url, 'revoked');
    assert.equal(await attempt(ws, { type: 'subscribe', channel: 'vault:minutes', token: revokedGrant }), 'forbidden', 'a revoked grant');
    assert.equal(await authFailures(t.url, 'revoked'), revoked + 1);
    ws.close();
  });

  it('hook: the subscribe hook allows or denies, with the session user, context and channel', async () => {
    const ws = await client({ sub: 'max', tenant: 'acme' });
    const allowBefore = await hookCalls(t.url, 'subscribe', 'allow');
    assert.equal(await attempt(ws, { type: 'subscribe', channel: 'mod:open' }), undefined);
    const call = hooks.calls.at(-1)!;
    assert.equal(call.path, '/subscribe');
    assert.equal(call.body.user, 'max');
    assert.equal(call.body.context.tenant, 'acme');
    assert.equal(call.body.channel, 'mod:open');
    assert.equal(typeof call.body.session, 'string');
    ws.send({ type: 'subscribe', id: 'closed', channel: 'mod:closed' });
    const denied = await ws.next((f) => f.id === 'closed');
    assert.deepEqual(denied.error, { code: 'forbidden', message: 'max may not read mod:closed' });
    assert.equal(await attempt(ws, { type: 'subscribe', channel: 'mod:broken' }), 'unavailable', 'a failing hook denies');
    assert.equal(await hookCalls(t.url, 'subscribe', 'allow'), allowBefore + 1);
    assert.equal(await hookCalls(t.url, 'subscribe', 'error'), 1);
    ws.close();
  });

  it('hook: the publish hook may reject a publication or rewrite its data', async () => {
    const listener = await client({ sub: 'nina' });
    assert.equal(await attempt(listener, { type: 'subscribe', channel: 'mod:open' }), undefined);
    const writer = await client({ sub: 'otto' });
    writer.send({ type: 'publish', id: 'spam', channel: 'mod:open', data: { spam: true } });
    assert.deepEqual((await writer.next((f) => f.id === 'spam')).error, { code: 'forbidden', message: 'spam is not welcome' });
    assert.equal(await attempt(writer, { type: 'publish', channel: 'mod:open', data: { text: 'darn it' } }), undefined);
    const call = hooks.calls.at(-1)!;
    assert.equal(call.path, '/publish');
    assert.deepEqual(call.body.data, { text: 'darn it' });
    assert.equal(call.body.user, 'otto');
    assert.deepEqual((await listener.next((f) => f.type === 'message')).data, { text: '**** it', checkedBy: 'moderator' });
    assert.equal(listener.inbox.all.filter((f) => f.type === 'message').length, 1, 'the rejected publication never arrived');
    listener.close();
    writer.close();
  });

  it('server: no client may subscribe or publish, whoever it is; the API may publish', async () => {
    const admin = await client({ sub: 'pam', role: 'admin' });
    assert.equal(await attempt(admin, { type: 'subscribe', channel: 'ops:alerts' }), 'forbidden');
    assert.equal(await attempt(admin, { type: 'publish', channel: 'ops:alerts', data: 1 }), 'forbidden');
    assert.equal((await post(`${t.url}/api/publish`, { channel: 'ops:alerts', data: 1 })).status, 200);
    admin.close();
  });
});
