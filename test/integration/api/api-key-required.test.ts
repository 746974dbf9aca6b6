import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

describe('the server API requires an API key', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'api.insecure': false, 'api.keys': ['key-one', 'key-two'] });
  });
  after(() => t.stop());

  const protectedRoutes: [method: string, path: string, body?: unknown][] = [
    ['POST', '/api/publish', { channel: 'news', data: 1 }],
    ['POST', '/api/publish', [{ channel: 'news', data: 1 }]],
    ['POST', '/api/broadcast', { channels: ['news'], data: 1 }],
    ['GET', '/api/channels'],
    ['GET', '/api/sessions'],
    ['GET', '/api/sessions/abc'],
    ['DELETE', '/api/sessions/abc'],
    ['POST', '/api/sessions/abc/disconnect', {}],
    ['GET', '/api/info'],
  ];

  it('answers 401 unauthorized to every API route called without a key', async () => {
    for (const [method, path, body] of protectedRoutes) {
      const res = await request(method, `${t.url}${path}`, { body });
      assert.equal(res.status, 401, `${method} ${path}`);
      assertErrorBody(res.body, 'unauthorized');
    }
  });

  it('answers 401 to a wrong key or a key in the wrong form', async () => {
    const wrong: Record<string, string>[] = [
      { authorization: 'Bearer key-three' },
      { authorization: 'Bearer key-one-and-more' },
      { authorization: 'key-one' },
      { authorization: 'Basic a2V5LW9uZTo=' },
      { 'x-api-key': 'key-on' },
      { 'x-api-key': '' },
    ];
    for (const headers of wrong) {
      const res = await request('POST', `${t.url}/api/publish`, { body: { channel: 'news', data: 1 }, headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assertErrorBody(res.body, 'unauthorized');
    }
  });

  it('accepts every configured key as Authorization: Bearer or X-API-Key', async () => {
    const accepted: Record<string, string>[] = [{ authorization: 'Bearer key-one' }, { authorization: 'Bearer key-two' }, { 'x-api-key': 'key-one' }, { 'x-api-key': 'key-two' }];
    for (const headers of accepted) {
      const res = await request('POST', `${t.url}/api/publish`, { body: { channel: 'news', data: 1 }, headers });
      assert.equal(res.status, 200, JSON.stringify(headers));
      assert.deepEqual(res.body, { channel: 'news', subscribers: 0 });
    }
    const info = await request('GET', `${t.url}/api/info`, { headers: { 'x-api-key': 'key-two' } });
    assert.equal(info.status, 200);
  });

  it('leaves health, readiness and metrics open for probes and scrapers', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const res = await request('GET', `${t.url}${path}`);
      assert.equal(res.status, 200, path);
    }
  });

  it('counts refused requests as unauthorized errors', async () => {
    const before = (await scrape(t.url)).value('switchboard_errors_total', { code: 'unauthorized' });
    await request('GET', `${t.url}/api/channels`);
    await request('GET', `${t.url}/api/channels`, { headers: { authorization: 'Bearer nope' } });
    const after = (await scrape(t.url)).value('switchboard_errors_total', { code: 'unauthorized' });
    assert.equal(after - before, 2);
  });
});
