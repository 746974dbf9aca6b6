import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';

const adminKey = 'admin-key-live-feed';

describe('an admin session on the live feed', () => {
  let node: TestNode;

  before(async () => {
    node = await startNode({ 'api.insecure': false, 'api.keys': [adminKey], 'admin.enabled': true, 'admin.sampleInterval': '100ms' });
  });
  after(() => node?.stop());

  const signIn = async () => {
    const ws = await connectWs(`${node.wsUrl}/ws?auth=frame`);
    ws.send({ type: 'connect', token: adminKey });
    const welcome = await ws.next((f) => f.type === 'welcome');
    return { ws, welcome };
  };

  it("receives every node's latest sample on $admin:stats and sessions opened and closed on $admin:sessions", async () => {
    const { ws, welcome } = await signIn();
    assert.equal(welcome.user, 'admin');
    ws.send([
      { type: 'subscribe', id: 1, channel: '$admin:stats' },
      { type: 'subscribe', id: 2, channel: '$admin:sessions' },
    ]);
    await ws.next((f) => f.type === 'subscribed' && f.id === 2);
    const stats = await ws.next((f) => f.type === 'message' && f.channel === '$admin:stats');
    assert.equal(stats.data.node, node.node.id);
    assert.equal(stats.data.interval, 100);
    assert.ok(stats.data.sample.connections >= 1);
    const user = await connectWs(`${node.wsUrl}/ws`);
    const { session } = await user.next((f) => f.type === 'welcome');
    user.close();
    const closed = await ws.next((f) => f.type === 'message' && f.channel === '$admin:sessions' && f.data.closed.some((s: { id: string }) => s.id === session));
    assert.equal(closed.data.node, node.node.id);
    ws.close();
  });

  it('follows any channel, and nobody publishes to $admin: channels', async () => {
    const { ws } = await signIn();
    ws.send({ type: 'subscribe', id: 1, channel: 'orders' });
    await ws.next((f) => f.type === 'subscribed' && f.id === 1);
    await request('POST', `${node.url}/api/publish`, { headers: { authorization: `Bearer ${adminKey}` }, body: { channel: 'orders', data: { n: 1 } } });
    assert.deepEqual((await ws.next((f) => f.type === 'message' && f.channel === 'orders')).data, { n: 1 });
    ws.send({ type: 'publish', id: 2, channel: '$admin:stats', data: {} });
    assert.equal((await ws.next((f) => f.id === 2)).error.code, 'forbidden');
    ws.send({ type: 'subscribe', id: 3, channel: '$admin:nothing' });
    assert.equal((await ws.next((f) => f.id === 3)).error.code, 'not_found');
    ws.close();
  });

  it('an anonymous session is refused $admin: channels with forbidden', async () => {
    const user = await connectWs(`${node.wsUrl}/ws`);
    await user.next((f) => f.type === 'welcome');
    user.send({ type: 'subscribe', id: 1, channel: '$admin:stats' });
    const refused = await user.next((f) => f.id === 1);
    assert.equal(refused.error.code, 'forbidden');
    assert.match(refused.error.message, /console/);
    user.close();
  });
});
