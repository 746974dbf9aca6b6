import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';

describe('API keys have an admin or a publish scope', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'api.insecure': false, 'api.keys': ['admin-old', 'admin-new'], 'api.publishKeys': ['publisher-1'] });
  });
  after(() => t.stop());

  const publishCalls: [string, string, unknown][] = [
    ['POST', '/api/publish', { channel: 'news', data: 1 }],
    ['POST', '/api/broadcast', { channels: ['news', 'sport'], data: 1 }],
    ['POST', '/messages', { channel: 'news', message: 'push style' }],
    ['POST', '/api/users/someone/messages', { data: 'hello' }],
  ];
  const adminCalls: [string, string, unknown?][] = [
    ['GET', '/api/sessions'],
    ['GET', '/api/users/someone/sessions'],
    ['POST', '/api/users/someone/disconnect', {}],
    ['POST', '/api/revocations', { user: 'someone', expiresIn: 60 }],
    ['GET', '/api/channels'],
    ['GET', '/api/info'],
  ];

  it('lets a publish key publish and push to users', async () => {
    for (const [method, path, body] of publishCalls) {
      const res = await request(method, `${t.url}${path}`, { body, headers: { authorization: 'Bearer publisher-1' } });
      assert.equal(res.status, 200, `${method} ${path}: ${res.text}`);
    }
  });

  it('answers 403 forbidden to a publish key on admin calls such as GET /api/sessions and POST /api/revocations', async () => {
    for (const [method, path, body] of adminCalls) {
      const res = await request(method, `${t.url}${path}`, { body, headers: { 'x-api-key': 'publisher-1' } });
      assert.equal(res.status, 403, `${method} ${path}`);
      assertErrorBody(res.body, 'forbidden');
    }
  });

  it('lets every admin key (rotation) make every call', async () => {
    for (const key of ['admin-old', 'admin-new']) {
      for (const [method, path, body] of [...publishCalls, ...adminCalls]) {
        const res = await request(method, `${t.url}${path}`, { body, headers: { authorization: `Bearer ${key}` } });
        assert.equal(res.status, 200, `${key} ${method} ${path}: ${res.text}`);
      }
    }
  });

  it('answers 401 unauthorized without a key or with an unknown one, on publish and admin calls alike', async () => {
    for (const headers of [{}, { authorization: 'Bearer publisher-2' }, { 'x-api-key': 'admin' }, { authorization: 'publisher-1' }] as Record<string, string>[]) {
      for (const [method, path, body] of [publishCalls[0]!, adminCalls[3]!]) {
        const res = await request(method, `${t.url}${path}`, { body, headers });
        assert.equal(res.status, 401, `${JSON.stringify(headers)} ${method} ${path}`);
        assertErrorBody(res.body, 'unauthorized');
      }
    }
  });
});
