import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { get, startProcess, type NodeProcess } from '../../helpers/node.js';
import { startRedis, type Service } from '../../helpers/services.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

describe('During a broker outage the node answers stable messages, reports one state and logs no noise', { skip: requireTool('redis-server') }, () => {
  let redis: Service;
  let node: NodeProcess;
  let other: NodeProcess;
  before(async () => {
    redis = await startRedis();
    const namespaces = JSON.stringify({ room: { presence: true } });
    const start = () => startProcess(['--api.insecure', 'true', '--broker.type', 'redis', '--broker.redis.url', redis.url, '--channels.namespaces', namespaces]);
    node = await start();
    other = await start();
    // With a second node, listing channels and sessions has to ask it through the broker.
    await waitUntil(async () => (await get(`${node.url}/api/nodes`)).body.nodes.length === 2, 10_000, 'the nodes to see each other');
    await redis.kill();
    await waitUntil(async () => (await get(`${node.url}/api/info`)).body.brokerConnected === false, 10_000, 'the node to see the outage');
  });
  after(async () => {
    node?.kill();
    other?.kill();
    await redis?.stop();
  });

  it('answers 503 unavailable with a message that names the broker, not the driver text', async () => {
    for (const path of ['/api/channels', '/api/sessions', '/api/channels/room:a/presence']) {
      const res = await get(`${node.url}${path}`);
      assert.equal(res.status, 503, path);
      assert.equal(res.body.error.code, 'unavailable', path);
      assert.equal(res.body.error.message, 'the broker is unavailable', path);
    }
    assert.ok(
      node.lines.some((l) => l.includes('api.unavailable')),
      'the driver text goes to the log',
    );
  });

  it('reports the same state in /api/info as in /api/nodes, and readiness apart', async () => {
    const info = (await get(`${node.url}/api/info`)).body;
    assert.equal(info.state, 'running');
    assert.equal(info.ready, false);
    const nodes = await get(`${node.url}/api/nodes`);
    assert.equal(nodes.status, 200);
    const self = (nodes.body.nodes as { id: string; state: string }[]).find((n) => n.id === info.node);
    assert.equal(self?.state, info.state);
  });

  it('does not log a failure of unused topics push every refresh', async () => {
    await new Promise((r) => setTimeout(r, 5000));
    const failures = node.lines.filter((l) => l.includes('topics.push_refresh_failed'));
    assert.ok(failures.length <= 1, `${failures.length} push refresh failures logged`);
  });
});
