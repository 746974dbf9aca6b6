import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, hmacToken, startHookServer } from '../../helpers/auth.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

const secret = 'refresh-permissions-secret';

/**
 * A refresh replaces everything the old token gave: privilege, claims and expiry. Subscriptions
 * the new token does not allow are dropped with `unsubscribed {reason: "forbidden"}`, and a token
 * of another user ends the session.
 */
describe('a refreshed token brings its own permissions', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({
      'auth.jwt.secrets': [secret],
      'channels.namespaces': {
        team: { subscribe: 'claim', publish: 'claim', claim: 'teams' },
        ops: { subscribe: 'server' },
      },
    });
  });
  after(() => t.stop());

  const token = (claims: Record<string, unknown>) => hmacToken(secret, claims, { expiresIn: 600 });

  async function session(claims: Record<string, unknown>): Promise<WsClient> {
    const ws = await connectWs(`${t.wsUrl}/ws`, { headers: bearer(await token(claims)) });
    await ws.next((f) => f.type === 'welcome');
    await ws.next((f) => f.type === 'subscribed' && f.channel === `user:${claims.sub}`);
    return ws;
  }

  async function refresh(ws: WsClient, id: string, claims: Record<string, unknown>): Promise<any> {
    ws.send({ type: 'refresh', id, token: await token(claims) });
    return ws.next((f) => f.type === 'reply' && f.id === id);
  }

  it("drops another user's personal channel and the right to publish there when the new token is not privileged", async () => {
    const bob = await session({ sub: 'bob' });
    const eve = await session({ sub: 'eve', role: 'admin' });
    eve.send({ type: 'subscribe', id: 'peek', channel: 'user:bob' });
    assert.equal((await eve.next((f) => f.id === 'peek')).type, 'subscribed');

    assert.equal((await refresh(eve, 'down', { sub: 'eve', role: 'user' })).error, undefined);
    assert.deepEqual(await eve.next((f) => f.type === 'unsubscribed'), { type: 'unsubscribed', channel: 'user:bob', reason: 'forbidden' });

    await post(`${t.url}/api/publish`, { channel: 'user:bob', data: 'for bob only' });
    assert.equal((await bob.next((f) => f.type === 'message')).data, 'for bob only');
    eve.send({ type: 'publish', id: 'spoof', channel: 'user:bob', data: 'from eve' });
    assert.equal((await eve.next((f) => f.id === 'spoof')).error.code, 'forbidden');
    eve.send({ type: 'subscribe', id: 'again', channel: 'user:bob' });
    assert.equal((await eve.next((f) => f.id === 'again')).error.code, 'forbidden');
    // Its own personal channel stays, and nothing of bob's reached it.
    await post(`${t.url}/api/publish`, { channel: 'user:eve', data: 'for eve' });
    assert.equal((await eve.next((f) => f.type === 'message')).data, 'for eve');
    assert.equal(eve.inbox.all.filter((f) => f.type === 'message' && f.channel === 'user:bob').length, 0);
    const listed = await (await fetch(`${t.url}/api/sessions?user=eve`)).json();
    assert.deepEqual(listed.sessions[0].channels, ['user:eve']);
    assert.equal(listed.sessions[0].context.role, 'user');
    bob.close();
    eve.close();
  });

  it('drops claim channels the new claims no longer list and keeps those they do', async () => {
    const ann = await session({ sub: 'ann', teams: ['team:red', 'team:blue'] });
    for (const channel of ['team:red', 'team:blue']) {
      ann.send({ type: 'subscribe', id: channel, channel });
      assert.equal((await ann.next((f) => f.id === channel)).type, 'subscribed');
    }
    assert.equal((await refresh(ann, 'fewer', { sub: 'ann', teams: ['team:red'] })).error, undefined);
    assert.deepEqual(await ann.next((f) => f.type === 'unsubscribed'), { type: 'unsubscribed', channel: 'team:blue', reason: 'forbidden' });
    await post(`${t.url}/api/publish`, { channel: 'team:blue', data: 'blue' });
    await post(`${t.url}/api/publish`, { channel: 'team:red', data: 'red' });
    assert.equal((await ann.next((f) => f.type === 'message')).data, 'red');
    ann.send({ type: 'publish', id: 'blue', channel: 'team:blue', data: 1 });
    assert.equal((await ann.next((f) => f.id === 'blue')).error.code, 'forbidden');
    assert.equal(ann.inbox.all.filter((f) => f.type === 'message' && f.channel === 'team:blue').length, 0);
    ann.close();
  });

  it('keeps the channels the server subscribed the session to', async () => {
    const ops = await session({ sub: 'otto', role: 'admin' });
    await post(`${t.url}/api/users/otto/subscribe`, { channel: 'ops:alerts' });
    await ops.next((f) => f.type === 'subscribed' && f.channel === 'ops:alerts');
    assert.equal((await refresh(ops, 'r', { sub: 'otto', role: 'user' })).error, undefined);
    await post(`${t.url}/api/publish`, { channel: 'ops:alerts', data: 'disk full' });
    assert.equal((await ops.next((f) => f.type === 'message')).data, 'disk full');
    assert.equal(ops.inbox.all.filter((f) => f.type === 'unsubscribed').length, 0);
    ops.close();
  });

  it('keeps the channels the connect hook gave the session', async () => {
    const hook = await startHookServer(() => ({ body: { allow: true, user: 'hana', channels: ['ops:pager'] } }));
    const hooked = await startNode({
      'auth.jwt.secrets': [secret],
      'auth.connectHook.url': hook.url,
      'channels.namespaces': { ops: { subscribe: 'server' } },
    });
    try {
      const ws = await connectWs(`${hooked.wsUrl}/ws`);
      assert.deepEqual((await ws.next((f) => f.type === 'welcome')).channels, ['ops:pager', 'user:hana']);
      await ws.next((f) => f.type === 'subscribed' && f.channel === 'ops:pager');
      ws.send({ type: 'refresh', id: 'r', token: await token({ sub: 'hana' }) });
      assert.equal((await ws.next((f) => f.id === 'r')).error, undefined);
      await post(`${hooked.url}/api/publish`, { channel: 'ops:pager', data: 'wake up' });
      assert.equal((await ws.next((f) => f.type === 'message')).data, 'wake up');
      assert.equal(ws.inbox.all.filter((f) => f.type === 'unsubscribed').length, 0);
      ws.close();
    } finally {
      await hooked.stop();
      await hook.stop();
    }
  });

  it("refuses another user's token with forbidden and closes the session with 4502 user_mismatch", async () => {
    const before = await scrape(t.url);
    const ivy = await session({ sub: 'ivy' });
    const reply = await refresh(ivy, 'swap', { sub: 'mallory', role: 'admin' });
    assert.equal(reply.error.code, 'forbidden');
    assert.deepEqual(await ivy.next((f) => f.type === 'disconnect'), { type: 'disconnect', code: 4502, reason: 'user_mismatch' });
    assert.equal((await ivy.closed).code, 4502);
    const after = await scrape(t.url);
    const delta = (name: string, labels: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    assert.equal(delta('switchboard_auth_failures_total', { reason: 'user_mismatch' }), 1);
    assert.equal(delta('switchboard_disconnections_total', { reason: 'user_mismatch' }), 1);
  });
});
