import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { grpcEcho, startGrpcUpstream, startHttpUpstream, type GrpcUpstream, type HttpUpstream } from '../../helpers/upstreams.js';
import { waitUntil } from '../../helpers/wait.js';

const secret = 'grpc-test-secret-of-some-length';

/** Routes to services implementing ForwardingService.Send (proto/forwarding.proto). */
describe('gateway gRPC forwarding', () => {
  const owned: (GrpcUpstream | HttpUpstream)[] = [];
  let node: TestNode | undefined;

  async function start(instances: GrpcUpstream[], route: Record<string, unknown> = {}, settings: Record<string, unknown> = {}): Promise<TestNode> {
    owned.push(...instances);
    node = await startNode({
      'auth.jwt.secrets': [secret],
      'gateway.enabled': true,
      'gateway.services': { rpc: { instances: instances.map((u) => ({ id: u.name, url: u.url })) } },
      'gateway.routes': [{ name: 'rpc', service: 'rpc', path: '/rpc', stripPrefix: true, ...route }],
      ...settings,
    });
    return node;
  }

  afterEach(async () => {
    await node?.stop();
    node = undefined;
    await Promise.all(owned.splice(0).map((u) => u.kill().catch(() => {})));
  });

  it('sends the whole HTTP request as a ForwardingReq and answers with the ForwardingResp', async () => {
    const upstream = await startGrpcUpstream('g1', async (req, name) => ({
      statusCode: 201,
      headers: { 'content-type': { values: ['application/json'] }, 'set-cookie': { values: ['a=1', 'b=2'] }, connection: { values: ['close'] } },
      body: Buffer.from(JSON.stringify({ instance: name, got: req.body.toString() })),
    }));
    await start([upstream], { auth: 'jwt' });
    const token = await hmacToken(secret, { sub: 'bob', plan: 'pro' });
    const res = await fetch(`${node!.url}/rpc/orders/9?x=1&y=2`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-trace': 't1' }, body: 'hello grpc' });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { instance: 'g1', got: 'hello grpc' });
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    const call = upstream.calls[0];
    assert.equal(call.method, 'POST');
    assert.equal(call.path, '/orders/9');
    assert.equal(call.originalPath, '/rpc/orders/9');
    assert.equal(call.query, 'x=1&y=2');
    assert.deepEqual(call.headers['x-trace'].values, ['t1']);
    assert.deepEqual(call.headers['x-forwarded-for'].values, ['127.0.0.1']);
    assert.equal(call.user, 'bob');
    assert.equal(JSON.parse(call.context).plan, 'pro');
    assert.match(call.remoteAddress, /^127\.0\.0\.1:\d+$/);
    assert.equal(call.route, 'rpc');
    assert.equal(call.service, 'rpc');
  });

  it('answers 504 timeout when the service passes the route timeout (DEADLINE_EXCEEDED)', async () => {
    const slow = await startGrpcUpstream('slow', () => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200 }), 1000)));
    await start([slow], { timeout: '150ms' });
    const res = await request('GET', `${node!.url}/rpc/x`);
    assert.equal(res.status, 504);
    assertErrorBody(res.body, 'timeout');
    const scraped = await scrape(node!.url);
    assert.equal(scraped.value('switchboard_gateway_upstream_errors_total', { route: 'rpc', service: 'rpc', instance: 'slow', reason: 'grpc_deadline' }), 1);
  });

  it('tries another instance when one is UNAVAILABLE, and answers 503 with Retry-After when none is left', async () => {
    const [a, b] = await Promise.all([startGrpcUpstream('a'), startGrpcUpstream('b')]);
    await start([a!, b!], { retries: 1 }, { 'gateway.ejection.consecutiveFailures': 1 });
    await a!.kill();
    for (let i = 0; i < 3; i++) {
      const res = await request('GET', `${node!.url}/rpc/x`);
      assert.equal(res.status, 200);
      assert.equal(res.body.instance, 'b');
    }
    await b!.kill();
    const res = await request('GET', `${node!.url}/rpc/x`);
    assert.equal(res.status, 503);
    assertErrorBody(res.body, 'unavailable');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    const scraped = await scrape(node!.url);
    assert.ok(scraped.value('switchboard_gateway_upstream_errors_total', { route: 'rpc', service: 'rpc', instance: 'a', reason: 'grpc_unavailable' }) >= 1);
  });

  it('takes an instance out when its grpc health check fails, and back when it passes', async () => {
    const up = await startGrpcUpstream('checked');
    owned.push(up);
    node = await startNode({
      'gateway.enabled': true,
      'gateway.health.interval': '100ms',
      'gateway.health.fall': 1,
      'gateway.services': { rpc: { instances: [{ id: 'checked', url: up.url }], check: { type: 'grpc' } } },
      'gateway.routes': [{ name: 'rpc', service: 'rpc', path: '/rpc' }],
    });
    const state = async () => (await request('GET', `${node!.url}/api/services/rpc`)).body.instances[0].state;
    await up.kill();
    await waitUntil(async () => (await state()) === 'unhealthy', 3000, 'the instance to fail its check');
    assert.equal((await request('GET', `${node!.url}/rpc/x`)).status, 503);
    await up.restart();
    await waitUntil(async () => (await state()) === 'available', 3000, 'the instance to pass again');
    assert.equal((await request('GET', `${node!.url}/rpc/x`)).status, 200);
  });

  it('sends a request to an HTTP or a gRPC service for callers outside the proxy (send)', async () => {
    const g = await startGrpcUpstream('g', grpcEcho);
    const h = await startHttpUpstream('h');
    owned.push(g, h);
    node = await startNode({
      'gateway.enabled': true,
      'gateway.services': { grpcsvc: { instances: [g.url] }, httpsvc: { instances: [h.url] } },
    });
    const gateway = node.node.gateway!;
    const fromGrpc = await gateway.send('grpcsvc', { method: 'POST', path: '/hooks/message', body: Buffer.from('{"a":1}'), user: 'u1' });
    assert.equal(fromGrpc.statusCode, 200);
    assert.deepEqual(JSON.parse(fromGrpc.body.toString()), { instance: 'g', method: 'POST', path: '/hooks/message', query: '', user: 'u1', body: '{"a":1}' });
    const fromHttp = await gateway.send('httpsvc', { method: 'GET', path: '/x', query: 'q=1', headers: { 'x-a': ['1'] } });
    const echoed = JSON.parse(fromHttp.body.toString());
    assert.equal(echoed.url, '/x?q=1');
    assert.equal(echoed.headers['x-a'], '1');
    await assert.rejects(gateway.send('missing', { method: 'GET', path: '/' }), (err: { code: string }) => err.code === 'unavailable');
  });
});
