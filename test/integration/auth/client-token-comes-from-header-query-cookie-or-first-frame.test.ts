import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authFailures, bearer, hmacToken } from '../../helpers/auth.js';
import { connectSse, connectWs } from '../../helpers/clients.js';
import { assertErrorBody } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { waitUntil } from '../../helpers/wait.js';

const secret = 'a-secret-of-the-token-service';

describe('a client token comes from the Authorization header, ?token=, the cookie or a first connect frame', () => {
  let t: TestNode;
  let token: string;
  before(async () => {
    t = await startNode({ 'auth.jwt.secrets': [secret], 'auth.anonymous': false, 'auth.firstFrameTimeout': '400ms' });
    token = await hmacToken(secret, { sub: 'alice', plan: 'pro' }, { expiresIn: 3600 });
  });
  after(() => t.stop());

  it('accepts the token from Authorization: Bearer on a WebSocket and on SSE', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws`, { headers: bearer(token) });
    assert.equal((await ws.next((f) => f.type === 'welcome')).user, 'alice');
    ws.close();
    const sse = await connectSse(`${t.url}/sse`, bearer(token));
    assert.equal(sse.status, 200);
    assert.equal(JSON.parse((await sse.next((e) => e.event === 'welcome')).data).user, 'alice');
    sse.close();
  });

  it('accepts the token from ?token= on a WebSocket and on SSE', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws?token=${token}`);
    assert.equal((await ws.next((f) => f.type === 'welcome')).user, 'alice');
    ws.close();
    const sse = await connectSse(`${t.url}/sse?token=${token}`);
    assert.equal(JSON.parse((await sse.next((e) => e.event === 'welcome')).data).user, 'alice');
    sse.close();
  });

  it('accepts the token from the switchboard_token cookie among other cookies', async () => {
    const cookie = `theme=dark; switchboard_token=${token}; other=1`;
    const ws = await connectWs(`${t.wsUrl}/ws`, { headers: { cookie } });
    assert.equal((await ws.next((f) => f.type === 'welcome')).user, 'alice');
    ws.close();
    const sse = await connectSse(`${t.url}/sse`, { cookie });
    assert.equal(JSON.parse((await sse.next((e) => e.event === 'welcome')).data).user, 'alice');
    sse.close();
  });

  it('opens a WebSocket without credentials once its first frame {"type":"connect","token"} verifies', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws?channels=news`);
    ws.send({ type: 'connect', token });
    const welcome = await ws.next((f) => f.type === 'welcome');
    assert.equal(welcome.user, 'alice');
    assert.ok(welcome.channels.includes('news'));
    assert.ok(welcome.channels.includes('user:alice'), 'the personal channel is subscribed too');
    ws.send({ type: 'ping', id: 1 });
    assert.deepEqual(await ws.next((f) => f.type === 'pong'), { type: 'pong', id: 1 });
    ws.close();
  });

  it('carries out frames sent right behind the connect frame, once the session is open', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws`);
    ws.send({ type: 'connect', token });
    ws.send({ type: 'subscribe', id: 'right-behind', channel: 'sport' });
    ws.send([{ type: 'ping', id: 'batched' }]);
    await waitUntil(() => ws.inbox.all.filter((f) => f.id === 'right-behind' || f.id === 'batched').length === 2, 3000, 'both answers');
    assert.equal(ws.inbox.all[0].type, 'welcome', 'the session opened first');
    assert.equal(ws.inbox.all.find((f) => f.id === 'right-behind').type, 'subscribed');
    assert.equal(ws.inbox.all.find((f) => f.id === 'batched').type, 'pong');
    ws.close();
  });

  it('closes a WebSocket whose first frame carries a bad token with a disconnect frame and 4501', async () => {
    const before = await authFailures(t.url, 'signature');
    const ws = await connectWs(`${t.wsUrl}/ws`);
    ws.send({ type: 'connect', token: await hmacToken('not-the-secret', { sub: 'alice' }) });
    const frame = await ws.next((f) => f.type === 'disconnect');
    assert.equal(frame.code, 4501);
    assert.equal((await ws.closed).code, 4501);
    assert.equal(ws.inbox.all.filter((f) => f.type === 'welcome').length, 0);
    assert.equal(await authFailures(t.url, 'signature'), before + 1);
  });

  it('closes a WebSocket whose first frame is not a connect frame with 4501', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws`);
    ws.send({ type: 'subscribe', channel: 'news' });
    assert.equal((await ws.next((f) => f.type === 'disconnect')).code, 4501);
    assert.equal((await ws.closed).code, 4501);
  });

  it('closes a WebSocket that sends no connect frame within auth.firstFrameTimeout, counted as missing', async () => {
    const before = await authFailures(t.url, 'missing');
    const started = Date.now();
    const ws = await connectWs(`${t.wsUrl}/ws`);
    assert.equal((await ws.closed).code, 4501);
    assert.ok(Date.now() - started >= 350, 'not before the timeout');
    assert.equal(await authFailures(t.url, 'missing'), before + 1);
  });

  it('refuses SSE without a token with 401 unauthorized, counted once as missing', async () => {
    const scraped = await scrape(t.url);
    const missing = scraped.value('switchboard_auth_failures_total', { reason: 'missing' });
    const unauthorized = scraped.value('switchboard_errors_total', { code: 'unauthorized' });
    const res = await fetch(`${t.url}/sse?channels=news`);
    assert.equal(res.status, 401);
    assertErrorBody(await res.json(), 'unauthorized');
    const after = await scrape(t.url);
    assert.equal(after.value('switchboard_auth_failures_total', { reason: 'missing' }), missing + 1);
    assert.equal(after.value('switchboard_errors_total', { code: 'unauthorized' }), unauthorized + 1);
  });
});
