import assert from 'node:assert/strict';
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { rawRequest, startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';
import { waitUntil } from '../../helpers/wait.js';

const secret = 'webhook-secret-0123456789';
/** Names this test's resolver answers with a public address once (when they are checked), then with loopback: DNS rebinding. */
const rebinding = { push: 'rebinding-push.example', gateway: 'rebinding-gateway.example', check: 'rebinding-check.example' };
/** A name that always resolves to loopback. */
const loopbackName = 'internal.example';

/** Resolves the test's names as above and every other name as usual, for this process. */
function installResolver(): () => void {
  const original = dns.lookup;
  const looked = new Set<string>();
  const rebinds = (name: string) => Object.values(rebinding).includes(name);
  const fake = ((hostname: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (err: Error | null, address: unknown, family?: number) => void;
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    if (!rebinds(hostname) && hostname !== loopbackName) return (original as (...args: unknown[]) => void)(hostname, options, callback);
    const address = rebinds(hostname) && !looked.has(hostname) ? '203.0.113.10' : '127.0.0.1';
    looked.add(hostname);
    process.nextTick(() => (all ? cb(null, [{ address, family: 4 }]) : cb(null, address, 4)));
  }) as typeof dns.lookup;
  dns.lookup = fake;
  syncBuiltinESMExports();
  return () => {
    dns.lookup = original;
    syncBuiltinESMExports();
  };
}

/**
 * A tenant's push endpoint and an instance registered through the API may not be, or resolve to, a
 * loopback, private, link-local or metadata address: refused when created with 403
 * forbidden_target, and refused again when connecting, so a name that resolves elsewhere later
 * reaches nothing. Counted in switchboard_forbidden_targets_total.
 */
describe('push endpoints and registered instances may not reach internal addresses', () => {
  let node: TestNode;
  let target: HttpUpstream;
  let restoreResolver: () => void;
  const api = (path: string) => `${node.url}/api/topics${path}`;
  const internal = () => [
    `http://127.0.0.1:${target.port}/`,
    `http://localhost:${target.port}/`,
    `http://${loopbackName}:${target.port}/`,
    `http://[::1]:${target.port}/`,
    `http://[::ffff:127.0.0.1]:${target.port}/`,
    `http://2130706433:${target.port}/`,
    `http://0.0.0.0:${target.port}/`,
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/',
    'http://172.16.0.1/',
    'http://192.168.1.1/',
    'http://100.64.0.1/',
    'http://[fd00:ec2::254]/',
    'http://[fe80::1]/',
  ];

  before(async () => {
    restoreResolver = installResolver();
    target = await startHttpUpstream('internal');
    node = await startNode({
      'topics.push.timeout': '300ms',
      'topics.push.minBackoff': '20ms',
      'topics.push.maxBackoff': '80ms',
      'gateway.enabled': true,
      'gateway.routes': [{ name: 'svc', service: 'svc', path: '/svc', stripPrefix: true, retries: 0 }],
    });
    await request('POST', api('/applications'), { body: { id: 'tenant' } });
    await request('POST', api('/tenant/topics'), { body: { name: 'events' } });
  });
  after(async () => {
    await node?.stop();
    await target?.kill();
    restoreResolver?.();
  });

  it('refuses a push subscription to an internal address with 403 forbidden_target', async () => {
    let n = 0;
    for (const endpoint of internal()) {
      const res = await request('POST', api('/tenant/subscriptions'), { body: { name: `sub-${n++}`, topic: 'events', push: { endpoint, secret } } });
      assert.equal(res.status, 403, `${endpoint}: ${res.text}`);
      assertErrorBody(res.body, 'forbidden_target');
    }
    const listed = await request('GET', api('/tenant/subscriptions'));
    assert.deepEqual(listed.body.subscriptions, []);
  });

  it('refuses to change a push subscription to an internal address', async () => {
    const created = await request('POST', api('/tenant/subscriptions'), { body: { name: 'pulled', topic: 'events' } });
    assert.equal(created.status, 201, created.text);
    const res = await request('PATCH', api('/tenant/subscriptions/pulled'), { body: { push: { endpoint: 'http://169.254.169.254/', secret } } });
    assert.equal(res.status, 403, res.text);
    assertErrorBody(res.body, 'forbidden_target');
  });

  it('does not deliver to a name that resolved to a public address when checked and to loopback when connecting', async () => {
    const created = await request('POST', api('/tenant/subscriptions'), {
      body: { name: 'rebound', topic: 'events', push: { endpoint: `http://${rebinding.push}:${target.port}/hook`, secret } },
    });
    assert.equal(created.status, 201, created.text);
    await request('POST', api('/tenant/topics/events/publish'), { body: { data: { secret: 'for the tenant only' } } });
    await waitUntil(async () => (await scrape(node.url)).value('switchboard_forbidden_targets_total', { feature: 'push', when: 'connect' }) >= 2, 5000, 'refused deliveries');
    assert.equal(target.requests.length, 0, 'nothing reached the internal server');
    const metrics = await scrape(node.url);
    assert.ok(metrics.value('switchboard_topic_push_attempts_total', { subscription: 'tenant/rebound', outcome: 'forbidden' }) >= 2);
    assert.equal(metrics.value('switchboard_topic_push_attempts_total', { subscription: 'tenant/rebound', outcome: 'unreachable' }), 0);
  });

  it('refuses to register an instance at an internal address with 403 forbidden_target', async () => {
    for (const url of [...internal(), `grpc://127.0.0.1:${target.port}`]) {
      const res = await request('POST', `${node.url}/api/services/svc/instances`, { body: { url } });
      assert.equal(res.status, 403, `${url}: ${res.text}`);
      assertErrorBody(res.body, 'forbidden_target');
    }
    assert.equal((await request('GET', `${node.url}/api/services/svc`)).status, 404);
  });

  it('does not proxy to a registered instance whose name resolves to loopback when connecting', async () => {
    const res = await request('POST', `${node.url}/api/services/svc/instances`, { body: { url: `http://${rebinding.gateway}:${target.port}`, id: 'rebound' } });
    assert.equal(res.status, 201, res.text);
    const proxied = await request('GET', `${node.url}/svc/secret`);
    assert.equal(proxied.status, 502, proxied.text);
    assertErrorBody(proxied.body, 'backend_error');
    const upgrade = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    const handshake = await rawRequest('GET', `${node.url}/svc/ws`, upgrade);
    assert.equal(handshake.status, 502, handshake.text);
    assert.equal(target.requests.length, 0, 'nothing reached the internal server');
    const metrics = await scrape(node.url);
    assert.ok(metrics.value('switchboard_gateway_upstream_errors_total', { route: 'svc', service: 'svc', instance: 'rebound', reason: 'forbidden_target' }) >= 2);
  });

  it('does not health-check a registered instance whose name resolves to loopback when connecting', async () => {
    const before = (await scrape(node.url)).value('switchboard_forbidden_targets_total', { feature: 'gateway', when: 'connect' });
    const res = await request('POST', `${node.url}/api/services/probe/instances`, {
      body: { url: `http://${rebinding.check}:${target.port}`, check: { type: 'http', path: '/healthz', interval: '50ms' } },
    });
    assert.equal(res.status, 201, res.text);
    await waitUntil(
      async () => (await scrape(node.url)).value('switchboard_forbidden_targets_total', { feature: 'gateway', when: 'connect' }) >= before + 2,
      5000,
      'refused health checks',
    );
    assert.equal(target.requests.length, 0, 'nothing reached the internal server');
  });

  it('counts the refusals by feature', async () => {
    const metrics = await scrape(node.url);
    assert.ok(metrics.value('switchboard_forbidden_targets_total', { feature: 'push', when: 'create' }) >= internal().length + 1);
    assert.ok(metrics.value('switchboard_forbidden_targets_total', { feature: 'gateway', when: 'create' }) >= internal().length + 1);
  });
});

describe('security.allowedPrivateTargets lets listed internal addresses through', () => {
  let node: TestNode;
  let target: HttpUpstream;
  let restoreResolver: () => void;

  before(async () => {
    restoreResolver = installResolver();
    target = await startHttpUpstream('internal');
    node = await startNode({
      'security.allowedPrivateTargets': ['127.0.0.0/8', loopbackName],
      'gateway.enabled': true,
      'gateway.routes': [{ name: 'svc', service: 'svc', path: '/svc', stripPrefix: true }],
    });
    await request('POST', `${node.url}/api/topics/applications`, { body: { id: 'tenant' } });
    await request('POST', `${node.url}/api/topics/tenant/topics`, { body: { name: 'events' } });
  });
  after(async () => {
    await node?.stop();
    await target?.kill();
    restoreResolver?.();
  });

  it('delivers to a listed address and a listed name, and refuses the rest', async () => {
    for (const [name, endpoint] of [
      ['by-address', `http://127.0.0.1:${target.port}/a`],
      ['by-name', `http://${loopbackName}:${target.port}/b`],
    ]) {
      const res = await request('POST', `${node.url}/api/topics/tenant/subscriptions`, { body: { name, topic: 'events', push: { endpoint, secret } } });
      assert.equal(res.status, 201, res.text);
    }
    const refused = await request('POST', `${node.url}/api/topics/tenant/subscriptions`, {
      body: { name: 'metadata', topic: 'events', push: { endpoint: 'http://169.254.169.254/', secret } },
    });
    assert.equal(refused.status, 403);
    await request('POST', `${node.url}/api/topics/tenant/topics/events/publish`, { body: { data: 1 } });
    await waitUntil(() => ['/a', '/b'].every((path) => target.requests.some((r) => r.url === path)), 5000, 'both deliveries');
  });

  it('proxies to a registered instance at a listed address', async () => {
    const res = await request('POST', `${node.url}/api/services/svc/instances`, { body: { url: target.url } });
    assert.equal(res.status, 201, res.text);
    const proxied = await request('GET', `${node.url}/svc/x`);
    assert.equal(proxied.status, 200, proxied.text);
    assert.equal(proxied.body.url, '/x');
  });

  it('refuses a setting that is not a CIDR, an address or a host name', async () => {
    await assert.rejects(startNode({ 'security.allowedPrivateTargets': ['10.0.0.0/33'] }), /allowedPrivateTargets/);
    await assert.rejects(startNode({ 'security.allowedPrivateTargets': ['http://x'] }), /allowedPrivateTargets/);
  });
});
