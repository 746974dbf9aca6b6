import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { assertErrorBody } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { requestPathAsIs, startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';

/**
 * Routes match on the path after percent-decoding of unreserved characters and removal of
 * dot-segments, and that path is what the service gets: `/public/../admin` is `/admin`, with
 * `/admin`'s authentication. Claim headers are the gateway's own on every route.
 */
describe('gateway routes match the normalized path', () => {
  const secret = 'normalized-path-test-secret-0123456789';
  let node: TestNode;
  let port: number;
  let svc: HttpUpstream;

  before(async () => {
    svc = await startHttpUpstream('svc');
    node = await startNode({
      'auth.jwt.secrets': [secret],
      'gateway.enabled': true,
      'gateway.services': { svc: { instances: [svc.url] } },
      'gateway.routes': [
        { name: 'admin', service: 'svc', path: '/admin', auth: 'jwt', claimHeaders: { sub: 'X-User-Id' } },
        { name: 'public', service: 'svc', path: '/public' },
      ],
    });
    port = Number(new URL(node.url).port);
  });
  after(async () => {
    await node?.stop();
    await svc?.kill();
  });

  for (const target of [
    '/public/../admin/users',
    '/public/%2e%2e/admin/users',
    '/public/%2E%2E/admin/users',
    '/public/./../admin/users',
    '/public/.%2e/admin/users',
    '//admin/users',
    '/public/x/../../admin/users',
  ]) {
    it(`takes ${target} to the admin route, which wants a token`, async () => {
      const before = svc.requests.length;
      const res = await requestPathAsIs(port, 'GET', target, { 'x-user-id': 'admin' });
      assert.equal(res.status, 401, res.text);
      assertErrorBody(res.body, 'unauthorized');
      assert.equal(svc.requests.length, before, 'the service got nothing');
    });
  }

  it('sends the normalized path, with the token holder as the user', async () => {
    const token = await hmacToken(secret, { sub: 'alice' });
    const res = await requestPathAsIs(port, 'GET', '/public/%2e%2e/admin/users?x=1', { authorization: `Bearer ${token}`, 'x-user-id': 'admin' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.url, '/admin/users?x=1');
    assert.equal(res.body.headers['x-user-id'], 'alice');
  });

  it('decodes unreserved characters and removes dot-segments within a route', async () => {
    const res = await requestPathAsIs(port, 'GET', '/public/a/./b/../%7Euser/%41%62');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.url, '/public/a/~user/Ab');
  });

  it('keeps other percent-encodings as they are', async () => {
    const res = await requestPathAsIs(port, 'GET', '/public/a%20b/%C3%A9');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.url, '/public/a%20b/%C3%A9');
  });

  for (const target of [
    '/public/..%2fadmin/users',
    '/public/..%2Fadmin/users',
    '/public/..%5cadmin/users',
    '/public/..%5Cadmin/users',
    '/public/..\\admin/users',
    '/public/%00',
    '/public/%zz',
    '/public/..;/admin/users',
  ]) {
    it(`refuses the ambiguous path ${target} with 400 bad_path`, async () => {
      const before = svc.requests.length;
      const res = await requestPathAsIs(port, 'GET', target, { 'x-user-id': 'admin' });
      assert.equal(res.status, 400, res.text);
      assertErrorBody(res.body, 'bad_path');
      assert.equal(svc.requests.length, before, 'the service got nothing');
    });
  }

  it('matches WebSocket handshakes on the normalized path too', async () => {
    const upgrade = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    const dotted = await requestPathAsIs(port, 'GET', '/public/../admin/ws', { ...upgrade, 'x-user-id': 'admin' });
    assert.equal(dotted.status, 401, dotted.text);
    assertErrorBody(dotted.body, 'unauthorized');
    const encoded = await requestPathAsIs(port, 'GET', '/public/..%2fadmin/ws', upgrade);
    assert.equal(encoded.status, 400, encoded.text);
    assertErrorBody(encoded.body, 'bad_path');
  });

  it("leaves an encoded slash in a path of the node's own API to the node", async () => {
    const res = await requestPathAsIs(port, 'GET', '/api/users/team%2Falice/sessions');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.user, 'team/alice');
  });

  it('counts refused paths', async () => {
    const metrics = await scrape(node.url);
    assert.ok(metrics.value('switchboard_gateway_refused_total', { route: '', reason: 'bad_path' }) >= 8);
  });

  it('removes a claim header the client sent on a route without authentication', async () => {
    const res = await requestPathAsIs(port, 'GET', '/public/me', { 'x-user-id': 'admin' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.headers['x-user-id'], undefined);
  });
});
