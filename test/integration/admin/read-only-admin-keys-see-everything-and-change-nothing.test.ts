import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';

const adminKey = 'admin-key-read-only-test';
const readOnlyKey = 'read-only-key-read-only-test';

describe('a read-only console key', () => {
  let node: TestNode;
  const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });

  before(async () => {
    node = await startNode({ 'api.insecure': false, 'api.keys': [adminKey], 'admin.enabled': true, 'admin.readOnlyKeys': [readOnlyKey], 'topics.store': 'memory' });
  });
  after(() => node?.stop());

  it('reads every listing of the server API, the topics API included', async () => {
    for (const path of ['/api/info', '/api/nodes', '/api/sessions', '/api/channels', '/api/routes', '/api/admin/stats', '/api/admin/topics', '/api/topics/applications']) {
      const answer = await request('GET', `${node.url}${path}`, as(readOnlyKey));
      assert.equal(answer.status, 200, `${path}: ${answer.text}`);
    }
    assert.deepEqual((await request('GET', `${node.url}/api/admin/whoami`, as(readOnlyKey))).body, { role: 'read-only', via: 'key' });
    assert.deepEqual((await request('GET', `${node.url}/api/admin/whoami`, as(adminKey))).body, { role: 'admin', via: 'key' });
  });

  it('is refused with 403 forbidden and a clear message on anything that changes state', async () => {
    const client = await connectWs(`${node.wsUrl}/ws`);
    const { session } = await client.next((f) => f.type === 'welcome');
    const calls: [string, string, unknown][] = [
      ['POST', '/api/publish', { channel: 'news', data: 1 }],
      ['POST', `/api/sessions/${session}/disconnect`, {}],
      ['DELETE', `/api/sessions/${session}`, undefined],
      ['POST', '/api/revocations', { user: 'alice' }],
      ['POST', '/api/topics/applications', { id: 'shop' }],
    ];
    for (const [method, path, body] of calls) {
      const answer = await request(method, `${node.url}${path}`, { ...as(readOnlyKey), body });
      assert.equal(answer.status, 403, `${method} ${path}: ${answer.text}`);
      assertErrorBody(answer.body, 'forbidden');
      assert.match(answer.body.error.message, /read-only/);
    }
    const listed = await request('GET', `${node.url}/api/sessions/${session}`, as(readOnlyKey));
    assert.equal(listed.status, 200, 'the session is still there');
    client.close();
  });

  it('signs in a live-feed session that follows channels and may not publish', async () => {
    const ws = await connectWs(`${node.wsUrl}/ws?auth=frame`);
    ws.send({ type: 'connect', token: readOnlyKey });
    const welcome = await ws.next((f) => f.type === 'welcome');
    assert.equal(welcome.user, 'admin');
    const listed = await request('GET', `${node.url}/api/sessions/${welcome.session}`, as(adminKey));
    assert.deepEqual(listed.body.context, { role: 'read-only', via: 'key' });
    ws.send({ type: 'subscribe', id: 1, channel: 'news' });
    await ws.next((f) => f.type === 'subscribed' && f.id === 1);
    await request('POST', `${node.url}/api/publish`, { ...as(adminKey), body: { channel: 'news', data: 'hello' } });
    assert.equal((await ws.next((f) => f.type === 'message')).data, 'hello');
    ws.send({ type: 'publish', id: 2, channel: 'news', data: 'from the console' });
    const refused = await ws.next((f) => f.id === 2);
    assert.equal(refused.error.code, 'forbidden');
    ws.close();
  });

  it('a wrong key in the connect frame is refused with 4501 unauthorized', async () => {
    const ws = await connectWs(`${node.wsUrl}/ws?auth=frame`);
    ws.send({ type: 'connect', token: 'not-a-key' });
    const frame = await ws.next((f) => f.type === 'disconnect');
    assert.match(frame.reason, /not a console key/);
    assert.equal((await ws.closed).code, 4501);
  });
});
