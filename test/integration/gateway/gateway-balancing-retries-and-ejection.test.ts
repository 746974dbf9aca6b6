import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { startHttpUpstream, type Handler, type HttpUpstream } from '../../helpers/upstreams.js';
import { waitUntil } from '../../helpers/wait.js';

/** How a route spreads requests over instances, and what it does when they fail. */
describe('gateway balancing, retries and ejection', () => {
  const upstreams: HttpUpstream[] = [];
  let node: TestNode | undefined;

  async function start(count: number, route: Record<string, unknown>, settings: Record<string, unknown> = {}, handler?: Handler): Promise<HttpUpstream[]> {
    const started = await Promise.all(Array.from({ length: count }, (_, i) => startHttpUpstream(`i${i}`, handler)));
    upstreams.push(...started);
    node = await startNode({
      'gateway.enabled': true,
      'gateway.services': { svc: { instances: started.map((u) => ({ id: u.name, url: u.url })) } },
      'gateway.routes': [{ name: 'r', service: 'svc', path: '/', ...route }],
      ...settings,
    });
    return started;
  }

  const instanceOf = async (path = '/', headers: Record<string, string> = {}) => (await request('GET', `${node!.url}${path}`, { headers })).body?.instance as string;

  afterEach(async () => {
    await node?.stop();
    node = undefined;
    await Promise.all(upstreams.splice(0).map((u) => u.kill().catch(() => {})));
  });

  it('takes instances in turn with round robin, in proportion to their weights', async () => {
    const [a, b] = await Promise.all([startHttpUpstream('heavy'), startHttpUpstream('light')]);
    upstreams.push(a!, b!);
    node = await startNode({
      'gateway.enabled': true,
      'gateway.services': {
        svc: {
          instances: [
            { url: a!.url, weight: 3 },
            { url: b!.url, weight: 1 },
          ],
        },
      },
      'gateway.routes': [{ name: 'r', service: 'svc' }],
    });
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push(await instanceOf());
    assert.equal(seen.filter((s) => s === 'heavy').length, 6);
    assert.equal(seen.filter((s) => s === 'light').length, 2);
  });

  it('sends every request with the same header value to the same instance with consistent hashing', async () => {
    await start(3, { balance: 'hash', hashOn: 'header:x-user' });
    const home = new Map<string, string>();
    for (let user = 0; user < 12; user++) home.set(`u${user}`, await instanceOf('/', { 'x-user': `u${user}` }));
    for (let round = 0; round < 3; round++) for (const [user, instance] of home) assert.equal(await instanceOf('/', { 'x-user': user }), instance);
    assert.ok(new Set(home.values()).size > 1, 'users are spread over the instances');
  });

  it("keeps a cookie's requests on one instance, and moves only the keys of an instance that died", async () => {
    const started = await start(3, { balance: 'hash', hashOn: 'cookie:session' }, { 'gateway.ejection.consecutiveFailures': 1 });
    const home = new Map<string, string>();
    for (let s = 0; s < 12; s++) home.set(`s${s}`, await instanceOf('/', { cookie: `theme=dark; session=s${s}` }));
    const victim = started[0]!;
    await victim.kill();
    for (const [session, instance] of home) {
      const now = await instanceOf('/', { cookie: `session=${session}` });
      if (instance !== victim.name) assert.equal(now, instance, `session ${session} stays where it was`);
      else assert.notEqual(now, victim.name);
    }
  });

  it('prefers the instance with the fewest requests in flight with least_request', async () => {
    const holding: Handler = (req, res, upstream) => {
      req.resume();
      setTimeout(() => res.end(JSON.stringify({ instance: upstream.name })), req.url === '/slow' ? 500 : 0);
    };
    await start(2, { balance: 'least_request' }, {}, holding);
    const slow = instanceOf('/slow');
    await new Promise((r) => setTimeout(r, 50));
    const fast: string[] = [];
    for (let i = 0; i < 6; i++) fast.push(await instanceOf('/fast'));
    const held = await slow;
    assert.ok(
      fast.every((f) => f !== held),
      `while ${held} holds a request the others go elsewhere: ${fast}`,
    );
  });

  it('retries an idempotent request on another instance after a connect error, never a POST', async () => {
    const started = await start(2, { retries: 1 }, { 'gateway.ejection.consecutiveFailures': 100 });
    await started[0]!.kill();
    for (let i = 0; i < 4; i++) assert.equal(await instanceOf(), 'i1');
    const scraped = await scrape(node!.url);
    assert.ok(scraped.value('switchboard_gateway_retries_total', { route: 'r', service: 'svc' }) >= 1);
    assert.ok(scraped.value('switchboard_gateway_upstream_errors_total', { route: 'r', service: 'svc', instance: 'i0', reason: 'connect' }) >= 1);
    const posts = await Promise.all(Array.from({ length: 4 }, () => request('POST', `${node!.url}/`, { body: { n: 1 } })));
    const statuses = posts.map((p) => p.status).sort();
    assert.ok(statuses.includes(502), `a POST that hit the dead instance is not retried: ${statuses}`);
    const failed = posts.find((p) => p.status === 502)!;
    assert.equal(failed.body.error.code, 'backend_error');
  });

  it('ejects an instance after consecutive failures, for longer each time, and brings it back', async () => {
    let failing = true;
    const flaky: Handler = (req, res, upstream) => {
      req.resume();
      if (upstream.name === 'i0' && failing) res.writeHead(500).end('{"instance":"i0","broken":true}');
      else res.end(JSON.stringify({ instance: upstream.name }));
    };
    await start(2, {}, { 'gateway.ejection.consecutiveFailures': 2, 'gateway.ejection.baseTime': '400ms' }, flaky);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await request('GET', `${node!.url}/`)).status);
    assert.equal(statuses.filter((s) => s === 500).length, 2, `the 5xx answers are passed through until the instance is ejected: ${statuses}`);
    let scraped = await scrape(node!.url);
    assert.equal(scraped.value('switchboard_gateway_ejections_total', { service: 'svc', instance: 'i0' }), 1);
    assert.equal(scraped.value('switchboard_gateway_instances', { service: 'svc', state: 'ejected' }), 1);
    for (let i = 0; i < 4; i++) assert.equal(await instanceOf(), 'i1');
    // After the ejection time the instance is tried again; two more failures eject it for twice as long.
    await waitUntil(async () => (await request('GET', `${node!.url}/`)).status === 500, 3000, 'i0 to be tried again');
    await waitUntil(
      async () => {
        await request('GET', `${node!.url}/`);
        return (await scrape(node!.url)).value('switchboard_gateway_ejections_total', { service: 'svc', instance: 'i0' }) === 2;
      },
      3000,
      'a second ejection',
    );
    const i0 = (await request('GET', `${node!.url}/api/services/svc`)).body.instances.find((i: { id: string }) => i.id === 'i0');
    assert.equal(i0.state, 'ejected');
    assert.ok(i0.ejectedUntil - Date.now() > 400, 'the second ejection lasts twice the base time');
    failing = false;
    await waitUntil(async () => (await instanceOf()) === 'i0', 5000, 'i0 to serve again');
    scraped = await scrape(node!.url);
    assert.equal(scraped.value('switchboard_gateway_instances', { service: 'svc', state: 'available' }), 2);
  });

  it('answers 503 unavailable with Retry-After when every instance is gone, and serves again when one is back', async () => {
    const started = await start(2, {}, { 'gateway.ejection.consecutiveFailures': 1, 'gateway.ejection.baseTime': '1s' });
    await Promise.all(started.map((u) => u.kill()));
    let res = await request('GET', `${node!.url}/x`);
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'unavailable');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    const services = (await request('GET', `${node!.url}/api/services/svc`)).body;
    assert.ok(services.down, 'the service is marked down');
    res = await request('GET', `${node!.url}/x`);
    assert.equal(res.status, 503, 'while it is down requests are refused at once');
    await started[1]!.restart();
    await waitUntil(async () => (await request('GET', `${node!.url}/x`)).status === 200, 5000, 'the restarted instance to serve');
    await waitUntil(async () => (await request('GET', `${node!.url}/api/services/svc`)).body.down === null, 2000, 'the down mark to clear');
    const scraped = await scrape(node!.url);
    assert.ok(scraped.value('switchboard_gateway_refused_total', { route: 'r', reason: 'no_instance' }) >= 2);
  });

  it('takes an instance out of rotation while its http health check fails', async () => {
    let healthy = true;
    const checked: Handler = (req, res, upstream) => {
      req.resume();
      if (req.url === '/healthz') res.writeHead(upstream.name === 'i0' && !healthy ? 503 : 200).end();
      else res.end(JSON.stringify({ instance: upstream.name }));
    };
    const started = await Promise.all([startHttpUpstream('i0', checked), startHttpUpstream('i1', checked)]);
    upstreams.push(...started);
    node = await startNode({
      'gateway.enabled': true,
      'gateway.health.interval': '100ms',
      'gateway.health.fall': 2,
      'gateway.health.rise': 2,
      'gateway.services': { svc: { instances: started.map((u) => ({ id: u.name, url: u.url })), check: { type: 'http', path: '/healthz' } } },
      'gateway.routes': [{ name: 'r', service: 'svc' }],
    });
    healthy = false;
    await waitUntil(async () => (await scrape(node!.url)).value('switchboard_gateway_instances', { service: 'svc', state: 'unhealthy' }) === 1, 3000, 'i0 to fail its checks');
    for (let i = 0; i < 4; i++) assert.equal(await instanceOf(), 'i1');
    healthy = true;
    await waitUntil(async () => (await scrape(node!.url)).value('switchboard_gateway_instances', { service: 'svc', state: 'available' }) === 2, 3000, 'i0 to pass again');
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await instanceOf());
    assert.deepEqual([...seen].sort(), ['i0', 'i1']);
    const scraped = await scrape(node!.url);
    assert.ok(scraped.value('switchboard_gateway_health_checks_total', { service: 'svc', instance: 'i0', result: 'fail' }) >= 2);
  });

  it('answers 504 timeout when an instance is slower than the route timeout', async () => {
    const slow: Handler = (req, res) => {
      req.resume();
      setTimeout(() => res.end('{}'), 1000).unref();
    };
    await start(1, { timeout: '150ms', retries: 0 }, {}, slow);
    const res = await request('GET', `${node!.url}/`);
    assert.equal(res.status, 504);
    assert.equal(res.body.error.code, 'timeout');
    const scraped = await scrape(node!.url);
    assert.equal(scraped.value('switchboard_gateway_upstream_errors_total', { route: 'r', service: 'svc', instance: 'i0', reason: 'timeout' }), 1);
    assert.equal(scraped.value('switchboard_errors_total', { code: 'timeout' }), 1);
  });

  it("cuts the client's response when an instance resets the connection mid-body", async () => {
    const resetting: Handler = (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000000' });
      res.write('x'.repeat(1000));
      setTimeout(() => res.socket?.destroy(), 50);
    };
    await start(1, {}, {}, resetting);
    const res = await fetch(`${node!.url}/`);
    assert.equal(res.status, 200);
    await assert.rejects(res.text(), 'the body does not complete');
    await waitUntil(
      async () => (await scrape(node!.url)).value('switchboard_gateway_upstream_errors_total', { route: 'r', service: 'svc', instance: 'i0', reason: 'reset' }) === 1,
      2000,
      'the reset to be counted',
    );
  });
});
