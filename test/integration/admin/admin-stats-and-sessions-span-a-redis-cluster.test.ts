import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { startRedis, type Service } from '../../helpers/services.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

const adminKey = 'admin-key-redis-cluster';
const as = { authorization: `Bearer ${adminKey}` };

describe('the console API of a two-node Redis cluster', { skip: requireTool('redis-server') }, () => {
  let redis: Service;
  let nodes: TestNode[] = [];
  const clients: WsClient[] = [];

  before(async () => {
    redis = await startRedis();
    const settings = {
      'broker.type': 'redis',
      'broker.redis.url': redis.url,
      'cluster.heartbeatInterval': '200ms',
      'admin.enabled': true,
      'admin.sampleInterval': '200ms',
      'api.insecure': false,
      'api.keys': [adminKey],
    };
    nodes = await Promise.all([startNode({ ...settings, 'node.id': 'node-a' }), startNode({ ...settings, 'node.id': 'node-b' })]);
    await waitUntil(async () => (await request('GET', `${nodes[0]!.url}/api/nodes`, { headers: as })).body.nodes.length === 2, 5000, 'the nodes to see each other');
  });
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  it('GET /api/admin/stats on one node lists the samples of both', async () => {
    await waitUntil(
      async () => {
        const { nodes: listed } = (await request('GET', `${nodes[0]!.url}/api/admin/stats?minutes=1`, { headers: as })).body;
        return listed.length === 2 && listed.every((n: { samples: unknown[] }) => n.samples.length > 0);
      },
      5000,
      'samples of both nodes',
    );
    const { nodes: listed } = (await request('GET', `${nodes[0]!.url}/api/admin/stats`, { headers: as })).body;
    assert.deepEqual(listed.map((n: { node: string }) => n.node).sort(), ['node-a', 'node-b']);
  });

  it('one $admin:stats subscription sees every node, and the paged session list finds a session on the other node', async () => {
    const admin = await connectWs(`${nodes[0]!.wsUrl}/ws?auth=frame`);
    clients.push(admin);
    admin.send({ type: 'connect', token: adminKey });
    await admin.next((f) => f.type === 'welcome');
    admin.send({ type: 'subscribe', id: 1, channel: '$admin:stats' });
    const seen = new Set<string>();
    while (seen.size < 2) seen.add((await admin.next((f) => f.type === 'message' && f.channel === '$admin:stats')).data.node);

    const user = await connectWs(`${nodes[1]!.wsUrl}/ws`);
    clients.push(user);
    const { session } = await user.next((f) => f.type === 'welcome');
    const page = (await request('GET', `${nodes[0]!.url}/api/sessions?limit=10&node=node-b`, { headers: as })).body;
    assert.equal(page.total, 1);
    assert.equal(page.sessions[0].id, session);
    assert.equal(page.sessions[0].node, 'node-b');
  });
});
