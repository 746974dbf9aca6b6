import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryBus } from '../../../src/brokers/memory.js';
import { bearer, hmacToken } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

const secret = 'frames-secret';

describe('POST /frames carries client frames for one-way transports', () => {
  let t: TestNode;
  let other: TestNode;
  before(async () => {
    const settings = {
      'auth.jwt.secrets': [secret],
      'channels.namespaces': { chat: { publish: 'public', presence: true, historySize: 10 }, team: { subscribe: 'authenticated', presence: true } },
      'limits.clientMessagesPerSecond': 1,
      'limits.clientMessagesBurst': 3,
    };
    // Two nodes on one bus: a request may land on any node.
    const bus = new MemoryBus();
    t = await startNode(settings, { bus });
    other = await startNode(settings, { bus });
  });
  after(async () => {
    await t.stop();
    await other.stop();
  });

  it('answers a batch with the reply of every frame, and the publication reaches a WebSocket subscriber', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws?channels=chat:lobby`);
    await ws.next((f) => f.type === 'subscribed');
    const res = await post(`${other.url}/frames`, [
      { type: 'publish', id: 1, channel: 'chat:lobby', data: { text: 'over http' } },
      { type: 'ping', id: 2 },
      { type: 'rpc', id: 3, method: 'x', data: null },
    ]);
    assert.equal(res.status, 200);
    const byId = new Map((res.body as { id: number }[]).map((f) => [f.id, f]));
    assert.deepEqual(byId.get(1), { type: 'reply', id: 1, data: { subscribers: 0, offset: 1, epoch: (byId.get(1) as any).data.epoch } });
    assert.deepEqual(byId.get(2), { type: 'pong', id: 2 });
    assert.equal((byId.get(3) as any).error.code, 'not_found');
    assert.deepEqual((await ws.next((f) => f.type === 'message')).data, { text: 'over http' });
    ws.close();
  });

  it('refuses subscribe and unsubscribe with bad_request, pointing to a streaming transport', async () => {
    const res = await post(`${t.url}/frames`, { type: 'subscribe', id: 'a', channel: 'news' }, bearer(await hmacToken(secret, { sub: 'ann' })));
    assert.equal(res.status, 200);
    assert.equal(res.body[0].error.code, 'bad_request');
    assert.match(res.body[0].error.message, /streaming transport/);
    const bad = await post(`${t.url}/frames`, 'not json', bearer(await hmacToken(secret, { sub: 'ann' })));
    assert.deepEqual(bad.body, [{ type: 'reply', error: { code: 'bad_request', message: 'frame is not valid JSON' } }]);
  });

  it('authenticates like a connection: presence on a namespace for authenticated users needs a token, and a bad token is 401', async () => {
    const ws = await connectWs(`${t.wsUrl}/ws?channels=team:a`, { headers: bearer(await hmacToken(secret, { sub: 'bo' })) });
    await ws.next((f) => f.type === 'subscribed');
    const anonymous = await post(`${t.url}/frames`, { type: 'presence', id: 1, channel: 'team:a' });
    assert.equal(anonymous.body[0].error.code, 'forbidden');
    const member = await post(`${t.url}/frames`, { type: 'presence', id: 1, channel: 'team:a' }, bearer(await hmacToken(secret, { sub: 'cy' })));
    assert.deepEqual(
      member.body[0].data.members.map((m: { user: string }) => m.user),
      ['bo'],
    );
    const refused = await post(`${t.url}/frames`, { type: 'ping' }, bearer('not-a-token'));
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, 'unauthorized');
    ws.close();
  });

  it('limits each caller to limits.clientMessagesBurst requests at once and counts the refusals', async () => {
    const token = bearer(await hmacToken(secret, { sub: 'dee' }));
    const before = (await scrape(other.url)).value('switchboard_limit_hits_total', { limit: 'rate' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(`${other.url}/frames`, { type: 'ping', id: i }, token)).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.equal((await scrape(other.url)).value('switchboard_limit_hits_total', { limit: 'rate' }) - before, 1);
    // Another caller has its own budget.
    assert.equal((await post(`${other.url}/frames`, { type: 'ping' }, bearer(await hmacToken(secret, { sub: 'eve' })))).status, 200);
  });
});
