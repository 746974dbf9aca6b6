import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, hmacToken } from '../../helpers/auth.js';
import { connectSse, connectWs, type WsClient } from '../../helpers/clients.js';
import { assertErrorBody } from '../../helpers/http.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';

const secret = 'personal-secret';

describe('personal channels user:<id> belong to their user', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'auth.jwt.secrets': [secret], 'auth.privilegedClaim': 'roles', 'auth.privilegedValue': 'support' });
  });
  after(() => t.stop());

  const token = (claims: Record<string, unknown>) => hmacToken(secret, claims, { expiresIn: 600 });

  async function ws(claims?: Record<string, unknown>): Promise<WsClient> {
    const client = await connectWs(`${t.wsUrl}/ws`, { headers: claims ? bearer(await token(claims)) : {} });
    await client.next((f) => f.type === 'welcome');
    return client;
  }

  it('subscribes every session of the user to its personal channel, and a publication reaches all of them', async () => {
    const phone = await connectWs(`${t.wsUrl}/ws`, { headers: bearer(await token({ sub: 'quin' })) });
    const welcome = await phone.next((f) => f.type === 'welcome');
    assert.deepEqual(welcome.channels, ['user:quin']);
    await phone.next((f) => f.type === 'subscribed' && f.channel === 'user:quin');
    const laptop = await connectSse(`${t.url}/sse?channels=news`, bearer(await token({ sub: 'quin' })));
    assert.deepEqual(JSON.parse((await laptop.next((e) => e.event === 'welcome')).data).channels, ['news', 'user:quin']);
    await laptop.next((e) => e.event === 'subscribed' && JSON.parse(e.data).channel === 'user:quin');
    const other = await ws({ sub: 'ruth' });
    const res = await post(`${t.url}/api/publish`, { channel: 'user:quin', data: { note: 'for quin only' } });
    assert.equal(res.body.subscribers, 2);
    assert.deepEqual((await phone.next((f) => f.type === 'message')).data, { note: 'for quin only' });
    assert.deepEqual(JSON.parse((await laptop.next((e) => e.event === 'message')).data), { channel: 'user:quin', data: { note: 'for quin only' } });
    assert.equal(other.inbox.all.filter((f) => f.type === 'message').length, 0);
    for (const c of [phone, laptop, other]) c.close();
  });

  it("refuses another user's or an anonymous client's subscription to a personal channel", async () => {
    const ruth = await ws({ sub: 'ruth' });
    ruth.send({ type: 'subscribe', id: 1, channel: 'user:quin' });
    assert.equal((await ruth.next((f) => f.id === 1)).error.code, 'forbidden');
    const anonymous = await ws();
    anonymous.send({ type: 'subscribe', id: 2, channel: 'user:quin' });
    assert.equal((await anonymous.next((f) => f.id === 2)).error.code, 'forbidden');
    await assert.rejects(connectWs(`${t.wsUrl}/ws?channels=user:quin`, { headers: bearer(await token({ sub: 'ruth' })) }), (err: any) => {
      assert.equal(err.status, 403);
      assertErrorBody(JSON.parse(err.body), 'forbidden');
      return true;
    });
    ruth.close();
    anonymous.close();
  });

  it("lets a privileged user (auth.privilegedClaim holds auth.privilegedValue) subscribe to another user's channel", async () => {
    const support = await ws({ sub: 'sol', roles: ['staff', 'support'] });
    support.send({ type: 'subscribe', id: 'peek', channel: 'user:quin' });
    assert.equal((await support.next((f) => f.id === 'peek')).type, 'subscribed');
    await post(`${t.url}/api/publish`, { channel: 'user:quin', data: 'seen by support' });
    assert.equal((await support.next((f) => f.type === 'message')).data, 'seen by support');
    const notSupport = await ws({ sub: 'tom', roles: ['staff'] });
    notSupport.send({ type: 'subscribe', id: 'peek', channel: 'user:quin' });
    assert.equal((await notSupport.next((f) => f.id === 'peek')).error.code, 'forbidden');
    support.close();
    notSupport.close();
  });

  it('lets only privileged users publish to a personal channel from a client', async () => {
    const owner = await ws({ sub: 'quin' });
    owner.send({ type: 'publish', id: 'self', channel: 'user:quin', data: 1 });
    assert.equal((await owner.next((f) => f.id === 'self')).error.code, 'forbidden');
    const support = await ws({ sub: 'sol', roles: 'support' });
    support.send({ type: 'publish', id: 'help', channel: 'user:quin', data: 'how can we help?' });
    assert.equal((await support.next((f) => f.id === 'help')).error, undefined);
    assert.equal((await owner.next((f) => f.type === 'message')).data, 'how can we help?');
    owner.close();
    support.close();
  });
});
