import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { rawRequest, startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';

const secret = 'gateway-test-secret-of-some-length';

/** Per-route authentication, rate limits, and the header and body limits of proxied requests. */
describe('gateway route authentication and limits', () => {
  let node: TestNode;
  let upstream: HttpUpstream;

  before(async () => {
    upstream = await startHttpUpstream('svc');
    node = await startNode({
      'api.keys': ['node-admin-key'],
      'auth.jwt.secrets': [secret],
      'gateway.enabled': true,
      'gateway.limits.maxHeaderBytes': '4KiB',
      'gateway.limits.maxBodyBytes': '64KiB',
      'gateway.services': { svc: { instances: [upstream.url] } },
      'gateway.routes': [
        { name: 'keyed', service: 'svc', path: '/keyed', apiKeys: ['route-key'], auth: 'api_key' },
        { name: 'jwt', service: 'svc', path: '/jwt', auth: 'jwt', claimHeaders: { sub: 'x-user-id', role: 'x-user-role', tags: 'x-user-tags' } },
        { name: 'limited', service: 'svc', path: '/limited', rateLimit: { requests: 3, window: '10s', by: 'header:x-tenant' } },
        { name: 'open', service: 'svc', path: '/open' },
      ],
    });
  });
  after(async () => {
    await node?.stop();
    await upstream?.kill();
  });

  it('admits an API key route only with one of its keys, and does not pass the key on', async () => {
    const missing = await request('GET', `${node.url}/keyed/x`);
    assert.equal(missing.status, 401);
    assertErrorBody(missing.body, 'unauthorized');
    assert.equal((await request('GET', `${node.url}/keyed/x`, { headers: { 'x-api-key': 'node-admin-key' } })).status, 401, 'the route has keys of its own');
    const ok = await request('GET', `${node.url}/keyed/x`, { headers: { authorization: 'Bearer route-key' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.headers.authorization, undefined);
  });

  it('verifies a JWT and passes the chosen claims as headers, which a client cannot forge', async () => {
    const token = await hmacToken(secret, { sub: 'alice', role: 'admin', tags: ['a', 'b'] });
    const res = await request('GET', `${node.url}/jwt/me`, { headers: { authorization: `Bearer ${token}`, 'x-user-role': 'forged', 'x-user-id': 'mallory' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.headers['x-user-id'], 'alice');
    assert.equal(res.body.headers['x-user-role'], 'admin');
    assert.equal(res.body.headers['x-user-tags'], '["a","b"]');
    const bad = await request('GET', `${node.url}/jwt/me`, { headers: { authorization: `Bearer ${token}x` } });
    assert.equal(bad.status, 401);
    assertErrorBody(bad.body, 'unauthorized');
    assert.equal((await request('GET', `${node.url}/jwt/me`)).status, 401);
  });

  it("limits a route's requests per window and key, with Retry-After", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await request('GET', `${node.url}/limited`, { headers: { 'x-tenant': 't1' } })).status);
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const limited = await request('GET', `${node.url}/limited`, { headers: { 'x-tenant': 't1' } });
    assertErrorBody(limited.body, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await request('GET', `${node.url}/limited`, { headers: { 'x-tenant': 't2' } })).status, 200, 'another key has its own budget');
    const scraped = await scrape(node.url);
    assert.equal(scraped.value('switchboard_gateway_refused_total', { route: 'limited', reason: 'rate_limited' }), 3);
  });

  it('refuses request headers above gateway.limits.maxHeaderBytes with too_large, and counts it', async () => {
    const res = await rawRequest('GET', `${node.url}/open`, { 'x-big': 'y'.repeat(5000) });
    assert.equal(res.status, 413);
    assertErrorBody(res.body, 'too_large');
    const scraped = await scrape(node.url);
    assert.equal(scraped.value('switchboard_limit_hits_total', { limit: 'header_size' }), 1);
    assert.equal(upstream.requests.filter((r) => r.headers['x-big']).length, 0, 'nothing reached the upstream');
  });

  it('refuses a body above gateway.limits.maxBodyBytes, declared or streamed', async () => {
    const declared = await rawRequest('POST', `${node.url}/open`, { 'content-type': 'application/octet-stream' }, Buffer.alloc(70 * 1024));
    assert.equal(declared.status, 413);
    assertErrorBody(declared.body, 'too_large');
    // A chunked body is counted as it streams; the upstream's request is cut when it passes the limit.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${node.url}/open`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < 200 * 1024) {
          sent += 8 * 1024;
          if (!req.write(Buffer.alloc(8 * 1024))) return req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(streamed, 413);
    const scraped = await scrape(node.url);
    assert.equal(scraped.value('switchboard_limit_hits_total', { limit: 'body_size' }), 2);
    assert.ok(scraped.value('switchboard_errors_total', { code: 'too_large' }) >= 2);
  });
});
