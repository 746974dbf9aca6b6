import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { killAll, brokerTools, sharedBrokerKinds, startCluster, startSharedBroker, type SharedBroker } from '../../helpers/cluster.js';
import { request } from '../../helpers/http.js';
import type { NodeProcess } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';
import { waitUntil } from '../../helpers/wait.js';
import { requireTool } from '../../helpers/tools.js';

const gatewayArgs = [
  '--gateway.enabled',
  'true',
  // The instances this test registers listen on loopback.
  '--security.allowedPrivateTargets',
  '127.0.0.1',
  '--gateway.routes',
  JSON.stringify([
    { name: 'shop', service: 'shop', path: '/shop', stripPrefix: true, retries: 1 },
    { name: 'limited', service: 'shop', path: '/limited', rateLimit: { requests: 4, window: '1m' } },
  ]),
  '--gateway.ejection.consecutiveFailures',
  '1',
  '--gateway.ejection.baseTime',
  '500ms',
];

for (const kind of sharedBrokerKinds) {
  /** Two node processes sharing a broker: the registry, and a service's down mark, reach both. */
  describe(`gateway across two nodes on ${kind}`, { skip: requireTool(brokerTools[kind]) }, () => {
    let broker: SharedBroker | undefined;
    let nodes: NodeProcess[] = [];
    const upstreams: HttpUpstream[] = [];

    before(async () => {
      broker = await startSharedBroker(kind);
      nodes = await startCluster(2, broker, gatewayArgs);
    });
    after(async () => {
      killAll(nodes);
      await Promise.all(upstreams.map((u) => u.kill().catch(() => {})));
      await broker?.service.stop();
    });

    const through = (node: NodeProcess) => request('GET', `${node.url}/shop/item`);
    const service = async (node: NodeProcess) => (await request('GET', `${node.url}/api/services/shop`)).body;

    it('serves an instance registered on one node through the other within a second', async () => {
      const a = await startHttpUpstream('a');
      upstreams.push(a);
      const registered = await request('POST', `${nodes[0]!.url}/api/services/shop/instances`, { body: { id: 'a', url: a.url } });
      assert.equal(registered.status, 201);
      await waitUntil(async () => (await through(nodes[1]!)).body?.instance === 'a', 1000, 'node 2 to serve the instance registered on node 1');
      const b = await startHttpUpstream('b');
      upstreams.push(b);
      assert.equal((await request('POST', `${nodes[1]!.url}/api/services/shop/instances`, { body: { id: 'b', url: b.url } })).status, 201);
      await waitUntil(async () => (await service(nodes[0]!))?.instances.length === 2, 1000, 'node 1 to list both instances');
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add((await through(nodes[0]!)).body.instance);
      assert.deepEqual([...seen].sort(), ['a', 'b']);
    });

    it('marks the service down on both nodes when every instance is gone, with 503 and Retry-After', async () => {
      await Promise.all(upstreams.map((u) => u.kill()));
      const res = await through(nodes[0]!);
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'unavailable');
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      await waitUntil(async () => (await service(nodes[1]!)).down !== null, 1000, 'node 2 to see the service down');
      assert.ok((await service(nodes[0]!)).down);
      const other = await through(nodes[1]!);
      assert.equal(other.status, 503);
      assert.ok(Number(other.headers.get('retry-after')) >= 1);
      const scraped = await scrape(nodes[1]!.url);
      const tried = ['a', 'b'].map((id) => scraped.value('switchboard_gateway_upstream_errors_total', { route: 'shop', service: 'shop', instance: id, reason: 'connect' }));
      assert.deepEqual(tried, [0, 0], 'node 2 refused at once, without trying the dead instances');
    });

    it('serves again, on both nodes, once one instance is back', async () => {
      await upstreams[0]!.restart();
      await waitUntil(async () => (await through(nodes[1]!)).status === 200, 5000, 'node 2 to serve the restarted instance');
      await waitUntil(async () => (await service(nodes[0]!)).down === null, 1000, 'node 1 to see the service up');
      assert.equal((await through(nodes[0]!)).body.instance, 'a');
    });

    it(kind === 'redis' ? 'counts a route rate limit across both nodes with redis' : 'counts a route rate limit on each node with nats', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await request('GET', `${nodes[i % 2]!.url}/limited`)).status);
      const admitted = statuses.filter((s) => s !== 429).length;
      assert.equal(admitted, kind === 'redis' ? 4 : 8, statuses.join(','));
    });

    it('removes an instance whose heartbeats stop, on every node', async () => {
      const c = await startHttpUpstream('c');
      upstreams.push(c);
      await request('POST', `${nodes[1]!.url}/api/services/shop/instances`, { body: { id: 'c', url: c.url, ttl: 600 } });
      await waitUntil(async () => (await service(nodes[0]!)).instances.some((i: { id: string }) => i.id === 'c'), 1000, 'node 1 to list c');
      await waitUntil(async () => !(await service(nodes[0]!)).instances.some((i: { id: string }) => i.id === 'c'), 3000, 'c to expire on node 1');
      assert.ok(!(await service(nodes[1]!)).instances.some((i: { id: string }) => i.id === 'c'));
    });
  });
}
