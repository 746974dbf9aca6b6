import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';

const key = { authorization: 'Bearer admin-key' };

/** The registry API: register, heartbeat, deregister, list, watch; bad input and floods. */
describe('gateway registry API', () => {
  let node: TestNode;
  let upstream: HttpUpstream;

  before(async () => {
    upstream = await startHttpUpstream('a');
    node = await startNode({
      'api.insecure': false,
      'api.keys': ['admin-key'],
      'gateway.enabled': true,
      'gateway.registry.registrationsPerSecond': 20,
      'gateway.registry.maxInstances': 5,
      'security.allowedPrivateTargets': ['127.0.0.1'],
      'gateway.services': { static: { instances: ['http://127.0.0.1:1'] } },
      'gateway.routes': [{ name: 'api', service: 'api', path: '/svc', stripPrefix: true }],
    });
  });
  after(async () => {
    await node?.stop();
    await upstream?.kill();
  });

  const register = (service: string, body: unknown) => request('POST', `${node.url}/api/services/${service}/instances`, { body, headers: key });

  it('needs an admin API key', async () => {
    const res = await request('GET', `${node.url}/api/services`);
    assert.equal(res.status, 401);
    assertErrorBody(res.body, 'unauthorized');
  });

  it('registers an instance, accepts the same one again as it is, and serves it through a route', async () => {
    const first = await register('api', { url: upstream.url, metadata: { zone: 'a' } });
    assert.equal(first.status, 201);
    assert.equal(first.body.created, true);
    assert.equal(first.body.instance.id, `127.0.0.1:${upstream.port}`);
    const again = await register('api', { url: upstream.url, weight: 5 });
    assert.equal(again.status, 200);
    assert.equal(again.body.created, false);
    assert.equal(again.body.instance.weight, 1, 'the existing registration is kept as it is');
    assert.deepEqual(again.body.instance.metadata, { zone: 'a' });
    const proxied = await request('GET', `${node.url}/svc/hello`);
    assert.equal(proxied.body.url, '/hello');
    const listed = await request('GET', `${node.url}/api/services`, { headers: key });
    const api = listed.body.services.find((s: { name: string }) => s.name === 'api');
    assert.equal(api.instances[0].state, 'available');
    assert.ok(listed.body.services.some((s: { name: string; instances: { source: string }[] }) => s.name === 'static' && s.instances[0]!.source === 'config'));
  });

  it('refuses a registration with a bad URL or an unknown check type with bad_request', async () => {
    for (const body of [
      { url: 'not a url' },
      { url: 'ftp://host:1' },
      { url: upstream.url, check: { type: 'icmp' } },
      { url: upstream.url, ttl: -1 },
      { url: upstream.url, color: 'red' },
      'text',
    ]) {
      const res = await register('api', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assertErrorBody(res.body, 'bad_request');
    }
    const badName = await register('bad name!', { url: upstream.url });
    assert.equal(badName.status, 400);
  });

  it('lets a registration with a TTL expire without heartbeats, and keeps one alive with them', async () => {
    assert.equal((await request('GET', `${node.url}/api/services/events`)).status, 401);
    const watcher = await fetch(`${node.url}/api/services/events`, { headers: key });
    assert.equal(watcher.headers.get('content-type'), 'application/x-ndjson');
    const reader = watcher.body!.getReader();
    const lines: any[] = [];
    let buffered = '';
    const nextEvent = async (type: string) => {
      for (;;) {
        const found = lines.find((l) => l.type === type);
        if (found) return found;
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffered += Buffer.from(value).toString();
        let nl;
        while ((nl = buffered.indexOf('\n')) !== -1) {
          lines.push(JSON.parse(buffered.slice(0, nl)));
          buffered = buffered.slice(nl + 1);
        }
      }
    };
    assert.ok((await nextEvent('snapshot')).services);
    await register('short', { id: 'one', url: 'http://127.0.0.1:9/', ttl: 300 });
    await register('short', { id: 'two', url: 'http://127.0.0.1:10/', ttl: 300 });
    assert.equal((await nextEvent('registered')).service, 'short');
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 150));
      assert.equal((await request('PUT', `${node.url}/api/services/short/instances/two/heartbeat`, { headers: key })).status, 200);
    }
    const expired = await nextEvent('expired');
    assert.equal(expired.id, 'one');
    const view = (await request('GET', `${node.url}/api/services/short`, { headers: key })).body;
    assert.deepEqual(
      view.instances.map((i: { id: string }) => i.id),
      ['two'],
    );
    const gone = await request('PUT', `${node.url}/api/services/short/instances/one/heartbeat`, { headers: key });
    assert.equal(gone.status, 404);
    assert.equal((await request('DELETE', `${node.url}/api/services/short/instances/two`, { headers: key })).status, 200);
    assert.equal((await nextEvent('deregistered')).id, 'two');
    assert.equal((await request('DELETE', `${node.url}/api/services/short/instances/two`, { headers: key })).status, 404);
    await reader.cancel();
  });

  it('refuses to deregister a configured instance', async () => {
    const res = await request('DELETE', `${node.url}/api/services/static/instances/127.0.0.1:1`, { headers: key });
    assert.equal(res.status, 403);
    assertErrorBody(res.body, 'forbidden');
  });

  it('bounds a flood of registrations by count and by rate, and counts it', async () => {
    const answers = await Promise.all(Array.from({ length: 80 }, (_, i) => register('flood', { id: `f${i}`, url: `http://127.0.0.1:${2000 + i}` })));
    const codes = answers.map((a) => (a.status === 201 ? 'created' : a.body.error.code));
    assert.ok(codes.includes('limit_exceeded'), codes.join(','));
    assert.ok(codes.includes('rate_limited'), codes.join(','));
    const created = codes.filter((c) => c === 'created').length;
    assert.ok(created <= 5, `at most maxInstances exist: ${created}`);
    const scraped = await scrape(node.url);
    assert.ok(scraped.value('switchboard_limit_hits_total', { limit: 'registrations' }) >= 2);
    assert.ok(scraped.value('switchboard_gateway_registrations_total', { outcome: 'rate_limited' }) >= 1);
    assert.ok(scraped.value('switchboard_gateway_registrations_total', { outcome: 'limit_exceeded' }) >= 1);
  });
});
