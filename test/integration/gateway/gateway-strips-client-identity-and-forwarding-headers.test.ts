import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { rawRequest, startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';

/**
 * Client-IP headers and any spelling of a claim or forwarding header with underscores never reach
 * a service from a client: CGI and WSGI servers read `X_User_Id` as `X-User-Id`.
 */
describe('the gateway strips client identity and forwarding headers', () => {
  const secret = 'forged-headers-test-secret-0123456789';
  let node: TestNode;
  let svc: HttpUpstream;

  const forged = {
    'x-real-ip': '10.9.9.9',
    'true-client-ip': '10.9.9.9',
    'x-client-ip': '10.9.9.9',
    x_user_id: 'admin',
    'X_User-Id': 'admin',
    x_forwarded_for: '10.9.9.9',
    x_real_ip: '10.9.9.9',
    x_forwarded_host: 'evil.example.com',
    'x-keep_me': 'yes',
  };

  before(async () => {
    svc = await startHttpUpstream('svc');
    node = await startNode({
      'auth.jwt.secrets': [secret],
      'gateway.enabled': true,
      'gateway.services': { svc: { instances: [svc.url] } },
      'gateway.routes': [
        { name: 'me', service: 'svc', path: '/me', auth: 'jwt', claimHeaders: { sub: 'X-User-Id' } },
        { name: 'public', service: 'svc', path: '/public' },
      ],
    });
  });
  after(async () => {
    await node?.stop();
    await svc?.kill();
  });

  it('removes them on a route without authentication', async () => {
    const res = await rawRequest('GET', `${node.url}/public/x`, forged);
    assert.equal(res.status, 200, res.text);
    const seen = res.body.headers;
    for (const name of ['x-real-ip', 'true-client-ip', 'x-client-ip', 'x_user_id', 'x_user-id', 'x_forwarded_for', 'x_real_ip', 'x_forwarded_host']) {
      assert.equal(seen[name], undefined, `${name} reached the service`);
    }
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-keep_me'], 'yes', 'other headers with underscores pass');
  });

  it('removes them on a route with authentication, where only the claim header the gateway sets arrives', async () => {
    const token = await hmacToken(secret, { sub: 'alice' });
    const res = await rawRequest('GET', `${node.url}/me`, { ...forged, authorization: `Bearer ${token}` });
    assert.equal(res.status, 200, res.text);
    const seen = res.body.headers;
    assert.equal(seen['x-user-id'], 'alice');
    for (const name of ['x-real-ip', 'true-client-ip', 'x_user_id', 'x_user-id', 'x_forwarded_for']) assert.equal(seen[name], undefined, `${name} reached the service`);
  });
});
