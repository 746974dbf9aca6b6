import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';

const adminKey = 'admin-key-console-off';
const readOnlyKey = 'read-only-key-console-off';
const secret = 'jwt-secret-console-off';

describe('while admin.enabled is false', () => {
  let node: TestNode;

  before(async () => {
    node = await startNode({ 'api.insecure': false, 'api.keys': [adminKey], 'admin.readOnlyKeys': [readOnlyKey], 'auth.jwt.secrets': [secret], 'auth.anonymous': false });
  });
  after(() => node?.stop());

  it('no /api/admin route exists, even for an admin key', async () => {
    for (const path of ['whoami', 'stats', 'topics', 'gateway']) {
      const answer = await request('GET', `${node.url}/api/admin/${path}`, { headers: { authorization: `Bearer ${adminKey}` } });
      assert.equal(answer.status, 404, path);
    }
  });

  it('read-only keys and JWTs with a console role open nothing on the API', async () => {
    assert.equal((await request('GET', `${node.url}/api/sessions`, { headers: { authorization: `Bearer ${readOnlyKey}` } })).status, 401);
    const jwt = await hmacToken(secret, { sub: 'ops', switchboard_role: 'admin' }, { expiresIn: 60 });
    assert.equal((await request('GET', `${node.url}/api/sessions`, { headers: { authorization: `Bearer ${jwt}` } })).status, 401);
  });

  it('a console key in a first connect frame opens no session, and $admin: channels are no channel names', async () => {
    const ws = await connectWs(`${node.wsUrl}/ws`);
    ws.send({ type: 'connect', token: adminKey });
    assert.equal((await ws.closed).code, 4501);
    const user = await connectWs(`${node.wsUrl}/ws`);
    user.send({ type: 'connect', token: await hmacToken(secret, { sub: 'alice' }, { expiresIn: 60 }) });
    await user.next((f) => f.type === 'welcome');
    user.send({ type: 'subscribe', id: 1, channel: '$admin:stats' });
    const refused = await user.next((f) => f.id === 1);
    assert.equal(refused.error.code, 'bad_request');
    user.close();
  });
});
