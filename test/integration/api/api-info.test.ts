import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { get, startNode, type TestNode } from '../../helpers/node.js';

describe('node information with GET /api/info', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'node.id': 'info-node' });
  });
  after(() => t.stop());

  it('reports the node, its broker, uptime, state and live counts', async () => {
    const idle = await get(`${t.url}/api/info`);
    assert.equal(idle.status, 200);
    assert.equal(idle.body.node, 'info-node');
    assert.equal(idle.body.broker, 'memory');
    assert.equal(idle.body.state, 'running');
    assert.equal(typeof idle.body.uptimeSeconds, 'number');
    assert.ok(idle.body.uptimeSeconds >= 0);
    assert.equal(idle.body.sessions, 0);
    assert.equal(idle.body.subscriptions, 0);
    assert.equal(idle.body.channels, 0);

    const a = await connectWs(`${t.wsUrl}/ws?channels=one,two`);
    const b = await connectWs(`${t.wsUrl}/ws?channels=two`);
    try {
      await a.next((f) => f.type === 'welcome');
      await b.next((f) => f.type === 'welcome');
      const busy = (await get(`${t.url}/api/info`)).body;
      assert.equal(busy.sessions, 2);
      assert.equal(busy.subscriptions, 3);
      assert.equal(busy.channels, 2);
    } finally {
      a.close();
      b.close();
    }
  });
});
