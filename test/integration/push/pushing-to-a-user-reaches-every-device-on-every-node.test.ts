import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryBus } from '../../../src/brokers/memory.js';
import { bearer, hmacToken } from '../../helpers/auth.js';
import { connectSse, connectWs } from '../../helpers/clients.js';
import { get, post, startNode, type TestNode } from '../../helpers/node.js';

const secret = 'devices-secret';

describe('POST /api/users/{id}/messages reaches every device of the user on every node', () => {
  let a: TestNode;
  let b: TestNode;
  before(async () => {
    const bus = new MemoryBus();
    a = await startNode({ 'auth.jwt.secrets': [secret] }, { bus });
    b = await startNode({ 'auth.jwt.secrets': [secret] }, { bus });
  });
  after(async () => {
    await a.stop();
    await b.stop();
  });

  const token = (sub: string) => hmacToken(secret, { sub }, { expiresIn: 600 });

  it('delivers the data to the WebSocket and SSE sessions of the user on both nodes, and to nobody else', async () => {
    const phone = await connectWs(`${a.wsUrl}/ws`, { headers: bearer(await token('uma')) });
    const tablet = await connectSse(`${a.url}/sse`, bearer(await token('uma')));
    const laptop = await connectWs(`${b.wsUrl}/ws`, { headers: bearer(await token('uma')) });
    const stranger = await connectWs(`${b.wsUrl}/ws`, { headers: bearer(await token('vic')) });
    for (const ws of [phone, laptop, stranger]) await ws.next((f) => f.type === 'welcome');
    await tablet.next((e) => e.event === 'welcome');

    const listed = await get(`${a.url}/api/users/uma/sessions`);
    assert.equal(listed.body.sessions.length, 3);
    assert.deepEqual(new Set(listed.body.sessions.map((s: any) => s.node)), new Set([a.node.id, b.node.id]));

    const res = await post(`${b.url}/api/users/uma/messages`, { data: { title: 'Your order shipped' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { sessions: 3 });
    assert.deepEqual(await phone.next((f) => f.type === 'message'), { type: 'message', data: { title: 'Your order shipped' } });
    assert.deepEqual(await laptop.next((f) => f.type === 'message'), { type: 'message', data: { title: 'Your order shipped' } });
    assert.deepEqual(JSON.parse((await tablet.next((e) => e.event === 'message')).data), { type: 'message', data: { title: 'Your order shipped' } });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(stranger.inbox.all.filter((f) => f.type === 'message').length, 0);
    for (const c of [phone, tablet, laptop, stranger]) c.close();
  });

  it('answers sessions: 0 for a user with no session and 400 without data', async () => {
    assert.deepEqual((await post(`${a.url}/api/users/nobody/messages`, { data: 1 })).body, { sessions: 0 });
    const res = await post(`${a.url}/api/users/uma/messages`, { text: 'no data field' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'bad_request');
  });
});
