import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { startHttpUpstream, type Handler, type HttpUpstream } from '../../helpers/upstreams.js';
import { waitUntil } from '../../helpers/wait.js';

describe('GET /api/admin/gateway', () => {
  let node: TestNode;
  let upstreams: HttpUpstream[] = [];

  before(async () => {
    const handler: Handler = (req, res, upstream) => {
      req.resume();
      if (req.url === '/healthz') res.writeHead(200).end();
      else if (upstream.name === 'broken') res.writeHead(500).end('{}');
      else res.end(JSON.stringify({ instance: upstream.name }));
    };
    upstreams = await Promise.all(['broken', 'fine', 'stopped'].map((name) => startHttpUpstream(name, handler)));
    node = await startNode({
      'admin.enabled': true,
      'admin.sampleInterval': '100ms',
      'gateway.enabled': true,
      'gateway.health.interval': '100ms',
      'gateway.health.fall': 2,
      'gateway.ejection.consecutiveFailures': 1,
      'gateway.ejection.baseTime': '30s',
      'gateway.services': { svc: { instances: upstreams.map((u) => ({ id: u.name, url: u.url })), check: { type: 'http', path: '/healthz' } } },
      'gateway.routes': [{ name: 'orders', service: 'svc', path: '/orders' }],
    });
  });
  after(async () => {
    await node?.stop();
    await Promise.all(upstreams.map((u) => u.kill().catch(() => {})));
  });

  it('shows an instance ejected after failures, one unhealthy after it stopped, with reasons, and the route rates', async () => {
    await upstreams[2]!.kill();
    for (let i = 0; i < 6; i++) await request('GET', `${node.url}/orders/${i}`);
    let overview: any;
    await waitUntil(
      async () => {
        overview = (await request('GET', `${node.url}/api/admin/gateway`)).body;
        const states = Object.fromEntries(overview.services[0].instances.map((i: { id: string; state: string }) => [i.id, i.state]));
        return states.broken === 'ejected' && states.stopped === 'unhealthy' && overview.routes[0].requestsPerSecond > 0 && overview.routes[0].errorsPerSecond > 0;
      },
      5000,
      'ejected and unhealthy instances and route rates',
    );
    const [service] = overview.services;
    assert.equal(service.name, 'svc');
    const byId = Object.fromEntries(service.instances.map((i: { id: string }) => [i.id, i]));
    assert.equal(byId.fine.state, 'healthy');
    assert.equal(byId.fine.reason, null);
    assert.match(byId.broken.reason, /ejected/);
    assert.ok(byId.broken.ejectedUntil > Date.now());
    assert.match(byId.stopped.reason, /health checks/);
    assert.deepEqual(
      { ...overview.routes[0], requestsPerSecond: 0, errorsPerSecond: 0 },
      { name: 'orders', service: 'svc', host: '', path: '/orders', methods: [], requestsPerSecond: 0, errorsPerSecond: 0 },
    );
  });

  it('is 404 not_found on a node without the gateway', async () => {
    const plain = await startNode({ 'admin.enabled': true });
    try {
      const answer = await request('GET', `${plain.url}/api/admin/gateway`);
      assert.equal(answer.status, 404);
      assert.equal(answer.body.error.code, 'not_found');
    } finally {
      await plain.stop();
    }
  });
});
