import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { rawRequest, startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';

/** Proxy routes match on host, path, method and headers, rewrite the path, and set the forwarding headers. */
describe('gateway routes', () => {
  let node: TestNode;
  let orders: HttpUpstream;
  let v2: HttpUpstream;
  let admin: HttpUpstream;

  before(async () => {
    orders = await startHttpUpstream('orders');
    v2 = await startHttpUpstream('orders-v2');
    admin = await startHttpUpstream('admin');
    node = await startNode({
      'gateway.enabled': true,
      'gateway.services': { orders: { instances: [orders.url] }, 'orders-v2': { instances: [`${v2.url}/base`] }, admin: { instances: [admin.url] } },
      'gateway.routes': [
        { name: 'admin-host', service: 'admin', host: 'admin.example.com', path: '/' },
        { name: 'orders-v2', service: 'orders-v2', path: '/orders', headers: { 'x-version': '2' }, rewrite: '/v2/orders' },
        { name: 'orders-read', service: 'orders', path: '/orders', methods: ['GET', 'HEAD'], stripPrefix: true },
        { name: 'users', service: 'orders', pathRegex: '^/users/([0-9]+)/profile$', rewrite: '/profiles/$1' },
      ],
    });
  });
  after(async () => {
    await node?.stop();
    await Promise.all([orders, v2, admin].map((u) => u?.kill()));
  });

  it('strips the matched prefix and keeps the query', async () => {
    const res = await request('GET', `${node.url}/orders/17?expand=items`);
    assert.equal(res.status, 200);
    assert.equal(res.body.instance, 'orders');
    assert.equal(res.body.url, '/17?expand=items');
    assert.equal(res.body.headers['x-forwarded-prefix'], '/orders');
  });

  it('matches a prefix only at a segment boundary', async () => {
    const res = await request('GET', `${node.url}/ordersx`);
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found');
  });

  it('takes a request with a matching header to the route that names it, under its rewritten path and the instance base path', async () => {
    const res = await request('GET', `${node.url}/orders/5`, { headers: { 'x-version': '2' } });
    assert.equal(res.body.instance, 'orders-v2');
    assert.equal(res.body.url, '/base/v2/orders/5');
  });

  it('leaves methods a route does not list to the next route or a 404', async () => {
    const res = await request('POST', `${node.url}/orders/5`, { body: { a: 1 } });
    assert.equal(res.status, 404);
  });

  it('routes by host', async () => {
    const res = await rawRequest('GET', `${node.url}/anything`, { host: 'admin.example.com:8080' });
    assert.equal(res.body.instance, 'admin');
    assert.equal(res.body.url, '/anything');
  });

  it('rewrites a path matched by a regular expression with its groups', async () => {
    const res = await request('GET', `${node.url}/users/42/profile`);
    assert.equal(res.body.url, '/profiles/42');
  });

  it('drops hop-by-hop headers and sets Forwarded and X-Forwarded-*', async () => {
    const res = await rawRequest('GET', `${node.url}/orders/1`, {
      connection: 'keep-alive, x-hop',
      'x-hop': 'secret',
      'x-keep': 'yes',
      'x-forwarded-for': '6.6.6.6',
      'proxy-authorization': 'Basic abc',
    });
    const seen = res.body.headers;
    assert.equal(seen['x-hop'], undefined);
    assert.equal(seen['proxy-authorization'], undefined);
    assert.equal(seen['x-keep'], 'yes');
    assert.equal(seen['x-forwarded-for'], '127.0.0.1', 'an untrusted client cannot inject a forwarded-for chain');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], `127.0.0.1:${node.node.port}`);
    assert.equal(seen.forwarded, `for=127.0.0.1;host="127.0.0.1:${node.node.port}";proto=http`);
    assert.equal(seen.host, `127.0.0.1:${orders.port}`, 'the upstream sees its own host');
    assert.match(seen['x-request-id'], /^[0-9a-f-]{36}$/);
  });

  it("leaves the node's own endpoints alone", async () => {
    const health = await request('GET', `${node.url}/healthz`);
    assert.equal(health.body.status, 'ok');
    const info = await request('GET', `${node.url}/api/info`);
    assert.equal(info.status, 200);
    assert.equal(typeof info.body.node, 'string');
  });
});
