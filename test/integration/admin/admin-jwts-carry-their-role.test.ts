import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';

const secret = 'jwt-secret-for-console-roles';

describe('with admin.enabled and client tokens configured, a JWT naming a console role', () => {
  let node: TestNode;
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    node = await startNode({
      'api.insecure': false,
      'api.keys': ['some-admin-key'],
      'admin.enabled': true,
      'admin.roleClaim': 'ops_role',
      'auth.jwt.secrets': [secret],
      'auth.anonymous': false,
    });
  });
  after(() => node?.stop());

  it('signs in to the server API with its role, and whoami tells the role, how and who', async () => {
    const admin = await hmacToken(secret, { sub: 'olga', ops_role: 'admin' }, { expiresIn: 60 });
    assert.deepEqual((await request('GET', `${node.url}/api/admin/whoami`, bearer(admin))).body, { role: 'admin', via: 'jwt', subject: 'olga' });
    assert.equal((await request('POST', `${node.url}/api/publish`, { ...bearer(admin), body: { channel: 'news', data: 1 } })).status, 200);
    const readOnly = await hmacToken(secret, { sub: 'rita', ops_role: 'read-only' }, { expiresIn: 60 });
    assert.equal((await request('GET', `${node.url}/api/sessions`, bearer(readOnly))).status, 200);
    const refused = await request('POST', `${node.url}/api/publish`, { ...bearer(readOnly), body: { channel: 'news', data: 1 } });
    assert.equal(refused.status, 403);
    assertErrorBody(refused.body, 'forbidden');
  });

  it('an expired one gets 401 token expired', async () => {
    const expired = await hmacToken(secret, { sub: 'olga', ops_role: 'admin' }, { expiresIn: -120 });
    const answer = await request('GET', `${node.url}/api/admin/whoami`, bearer(expired));
    assert.equal(answer.status, 401);
    assertErrorBody(answer.body, 'unauthorized');
    assert.match(answer.body.error.message, /expired/);
  });

  it('a valid JWT without the role claim gets 403 forbidden naming the claim', async () => {
    const plain = await hmacToken(secret, { sub: 'alice' }, { expiresIn: 60 });
    const answer = await request('GET', `${node.url}/api/sessions`, bearer(plain));
    assert.equal(answer.status, 403);
    assertErrorBody(answer.body, 'forbidden');
    assert.match(answer.body.error.message, /ops_role/);
  });

  it('opens a live-feed session with the role over a first connect frame, listed with its claims', async () => {
    const admin = await hmacToken(secret, { sub: 'olga', ops_role: 'admin' }, { expiresIn: 60 });
    const ws = await connectWs(`${node.wsUrl}/ws`);
    ws.send({ type: 'connect', token: admin });
    const welcome = await ws.next((f) => f.type === 'welcome');
    assert.equal(welcome.user, 'olga');
    ws.send({ type: 'subscribe', id: 1, channel: '$admin:sessions' });
    await ws.next((f) => f.type === 'subscribed' && f.id === 1);
    const plain = await connectWs(`${node.wsUrl}/ws`);
    plain.send({ type: 'connect', token: await hmacToken(secret, { sub: 'alice' }, { expiresIn: 60 }) });
    await plain.next((f) => f.type === 'welcome');
    plain.send({ type: 'subscribe', id: 7, channel: '$admin:sessions' });
    const refused = await plain.next((f) => f.id === 7);
    assert.equal(refused.error.code, 'forbidden');
    const event = await ws.next((f) => f.type === 'message' && f.channel === '$admin:sessions' && f.data.opened.some((s: { user: string }) => s.user === 'alice'));
    assert.equal(event.data.node, node.node.id);
    ws.close();
    plain.close();
  });
});
