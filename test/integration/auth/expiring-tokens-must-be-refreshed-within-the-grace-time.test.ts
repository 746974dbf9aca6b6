import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authFailures, bearer, hmacToken } from '../../helpers/auth.js';
import { connectSse, connectWs, type WsClient } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

const secret = 'refresh-secret';
const graceMs = 600;

/**
 * A token that expired a moment ago but within auth.jwt.clockSkew is accepted, and its session is
 * asked to refresh at once: the flow without waiting for a real expiry.
 */
describe('expiring tokens must be refreshed within auth.refreshGrace', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({
      'auth.jwt.secrets': [secret],
      'auth.refreshGrace': graceMs,
      // The session clock ticks every half of the smaller of heartbeat interval and grace period.
      'sessions.closeGracePeriod': '200ms',
    });
  });
  after(() => t.stop());

  async function expiringSession(user: string): Promise<WsClient> {
    const ws = await connectWs(`${t.wsUrl}/ws?channels=news`, { headers: bearer(await hmacToken(secret, { sub: user }, { expiresIn: -1 })) });
    assert.equal((await ws.next((f) => f.type === 'welcome')).user, user);
    return ws;
  }

  it('asks the session for a new token and keeps it open when it sends one for the same user', async () => {
    const ws = await expiringSession('pia');
    const request = await ws.next((f) => f.type === 'refresh', 2000);
    assert.deepEqual(request, { type: 'refresh', within: graceMs });
    const fresh = await hmacToken(secret, { sub: 'pia', plan: 'renewed' }, { expiresIn: 3600 });
    ws.send({ type: 'refresh', id: 'r1', token: fresh });
    const reply = await ws.next((f) => f.type === 'reply' && f.id === 'r1');
    assert.equal(reply.error, undefined, JSON.stringify(reply));
    assert.ok(reply.data.expiresAt > Date.now() + 3000 * 1000);
    // Well past the grace time, the session is still open, still subscribed, with the new claims.
    await new Promise((r) => setTimeout(r, graceMs + 400));
    ws.send({ type: 'ping', id: 'alive' });
    await ws.next((f) => f.type === 'pong' && f.id === 'alive');
    await fetch(`${t.url}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'news', data: 'still here' }) });
    assert.equal((await ws.next((f) => f.type === 'message')).data, 'still here');
    const sessions = await (await fetch(`${t.url}/api/sessions?user=pia`)).json();
    assert.equal(sessions.sessions[0].context.plan, 'renewed');
    assert.equal(ws.inbox.all.filter((f) => f.type === 'refresh').length, 1);
    ws.close();
  });

  it('closes a session that sends no new token with a disconnect frame and 4005 after the grace time', async () => {
    const before = await scrape(t.url);
    const ws = await expiringSession('quinn');
    await ws.next((f) => f.type === 'refresh', 2000);
    const askedAt = Date.now();
    assert.deepEqual(await ws.next((f) => f.type === 'disconnect', 3000), { type: 'disconnect', code: 4005, reason: 'token_expired' });
    const closed = await ws.closed;
    assert.equal(closed.code, 4005);
    assert.ok(Date.now() - askedAt >= graceMs - 150, 'not before the grace time');
    const after = await scrape(t.url);
    assert.equal(after.value('switchboard_auth_failures_total', { reason: 'expired' }) - before.value('switchboard_auth_failures_total', { reason: 'expired' }), 1);
    assert.equal(after.value('switchboard_disconnections_total', { reason: 'token_expired' }) - before.value('switchboard_disconnections_total', { reason: 'token_expired' }), 1);
  });

  it("refuses a refresh with another user's token as forbidden and closes the session with 4502 user_mismatch", async () => {
    const ws = await expiringSession('rosa');
    await ws.next((f) => f.type === 'refresh', 2000);
    ws.send({ type: 'refresh', id: 'steal', token: await hmacToken(secret, { sub: 'sam' }, { expiresIn: 3600 }) });
    const reply = await ws.next((f) => f.type === 'reply' && f.id === 'steal');
    assert.equal(reply.error.code, 'forbidden');
    assert.equal((await ws.closed).code, 4502);
  });

  it('refuses a refresh with an invalid token as unauthorized, counted, and the session still has its grace time', async () => {
    const ws = await expiringSession('tara');
    await ws.next((f) => f.type === 'refresh', 2000);
    const before = await authFailures(t.url, 'signature');
    ws.send({ type: 'refresh', id: 'bad', token: await hmacToken('wrong-secret', { sub: 'tara' }, { expiresIn: 3600 }) });
    assert.equal((await ws.next((f) => f.type === 'reply' && f.id === 'bad')).error.code, 'unauthorized');
    assert.equal(await authFailures(t.url, 'signature'), before + 1);
    ws.send({ type: 'refresh', id: 'good', token: await hmacToken(secret, { sub: 'tara' }, { expiresIn: 3600 }) });
    assert.equal((await ws.next((f) => f.type === 'reply' && f.id === 'good')).error, undefined);
    await new Promise((r) => setTimeout(r, graceMs + 300));
    ws.send({ type: 'ping', id: 'alive' });
    await ws.next((f) => f.type === 'pong');
    ws.close();
  });

  it('ends an SSE session, which cannot send a token, when its token expires', async () => {
    const token = await hmacToken(secret, { sub: 'uma' }, { expiresIn: -1 });
    const sse = await connectSse(`${t.url}/sse`, bearer(token));
    await sse.next((e) => e.event === 'welcome');
    const last = await sse.next((e) => e.event === 'disconnect', 2000);
    assert.deepEqual(JSON.parse(last.data), { type: 'disconnect', code: 4005, reason: 'token_expired' });
    await sse.ended;
  });
});
