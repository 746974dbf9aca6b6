import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryBus } from '../../../src/brokers/memory.js';
import { authFailures, bearer, hmacToken } from '../../helpers/auth.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';

const secret = 'revocation-secret';

describe('revoked tokens and users are cut off on every node', () => {
  let a: TestNode;
  let b: TestNode;
  before(async () => {
    const bus = new MemoryBus();
    a = await startNode({ 'auth.jwt.secrets': [secret], 'node.id': 'node-a' }, { bus });
    b = await startNode({ 'auth.jwt.secrets': [secret], 'node.id': 'node-b' }, { bus });
  });
  after(async () => {
    await a.stop();
    await b.stop();
  });

  async function session(node: TestNode, token: string): Promise<WsClient> {
    const ws = await connectWs(`${node.wsUrl}/ws`, { headers: bearer(token) });
    await ws.next((f) => f.type === 'welcome');
    return ws;
  }

  async function refused(node: TestNode, token: string): Promise<void> {
    await assert.rejects(connectWs(`${node.wsUrl}/ws`, { headers: bearer(token) }), (err: any) => {
      assert.equal(err.status, 401);
      assertErrorBody(JSON.parse(err.body), 'unauthorized');
      return true;
    });
  }

  it('closes every live session of a revoked jti with 4506 within a second, on both nodes, and refuses the token afterwards', async () => {
    const revokedToken = await hmacToken(secret, { sub: 'abby' }, { expiresIn: 600, jti: 'jti-revoked' });
    const otherToken = await hmacToken(secret, { sub: 'abby' }, { expiresIn: 600, jti: 'jti-kept' });
    const onA = await session(a, revokedToken);
    const onB = await session(b, revokedToken);
    const kept = await session(a, otherToken);
    const started = Date.now();
    const res = await post(`${a.url}/api/revocations`, { jti: 'jti-revoked', expiresIn: 600 });
    assert.equal(res.status, 200);
    assert.equal(res.body.revoked.jti, 'jti-revoked');
    for (const ws of [onA, onB]) {
      assert.deepEqual(await ws.next((f) => f.type === 'disconnect', 1000), { type: 'disconnect', code: 4506, reason: 'revoked' });
      assert.equal((await ws.closed).code, 4506);
    }
    assert.ok(Date.now() - started < 1000, `closed within a second (${Date.now() - started} ms)`);
    const before = await authFailures(b.url, 'revoked');
    await refused(a, revokedToken);
    await refused(b, revokedToken);
    assert.equal(await authFailures(b.url, 'revoked'), before + 1);
    kept.send({ type: 'ping', id: 'kept' });
    await kept.next((f) => f.type === 'pong');
    kept.close();
  });

  it('closes every session of a revoked user on both nodes and refuses tokens issued before the revocation', async () => {
    const oldToken = await hmacToken(secret, { sub: 'bert' }, { expiresIn: 600 });
    const sessions = [await session(a, oldToken), await session(b, oldToken), await session(b, await hmacToken(secret, { sub: 'bert' }, { expiresIn: 600, jti: 'x' }))];
    const bystander = await session(a, await hmacToken(secret, { sub: 'cleo' }, { expiresIn: 600 }));
    const started = Date.now();
    const res = await post(`${b.url}/api/revocations`, { user: 'bert', expiresIn: 600 });
    assert.equal(res.status, 200);
    assert.equal(res.body.revoked.user, 'bert');
    for (const ws of sessions) assert.equal((await ws.closed).code, 4506);
    assert.ok(Date.now() - started < 1000, `closed within a second (${Date.now() - started} ms)`);
    await refused(a, oldToken);
    await refused(b, oldToken);
    // A token issued after the revocation (iat later than it) is accepted again.
    const fresh = await hmacToken(secret, { sub: 'bert' }, { expiresIn: 600, issuedAt: Math.floor(Date.now() / 1000) + 1 });
    const back = await session(a, fresh);
    back.close();
    bystander.send({ type: 'ping', id: 'ok' });
    await bystander.next((f) => f.type === 'pong');
    bystander.close();
  });

  it('refuses a revocation that names neither jti nor user, or has no valid expiresIn, with 400', async () => {
    for (const body of [{ expiresIn: 60 }, { jti: '', expiresIn: 60 }, { jti: 'j' }, { user: 'u', expiresIn: 0 }, { user: 'u', expiresIn: 1.5 }, 'not json']) {
      const res = await request('POST', `${a.url}/api/revocations`, { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assertErrorBody(res.body, 'bad_request');
    }
  });
});
