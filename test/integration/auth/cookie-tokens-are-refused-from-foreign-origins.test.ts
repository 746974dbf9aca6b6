import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';

const secret = 'cookie-origin-secret';

/**
 * Cross-site WebSocket hijacking and request forgery: a browser sends the visitor's cookies with
 * a WebSocket from any page, and with a text/plain POST from any page without a preflight.
 */
describe("a cookie token only counts on requests from the node's own origin or a listed one", () => {
  let t: TestNode;
  let cookie: string;
  before(async () => {
    t = await startNode({
      'auth.jwt.secrets': [secret],
      'auth.anonymous': false,
      'channels.namespaces': { private: { subscribe: 'authenticated', publish: 'authenticated' } },
    });
    cookie = `switchboard_token=${await hmacToken(secret, { sub: 'victim' })}`;
  });
  after(() => t.stop());

  it('refuses a WebSocket with the cookie from a foreign Origin with 403 before the upgrade', async () => {
    const refused = await connectWs(`${t.wsUrl}/ws?channels=private:inbox`, { headers: { cookie, origin: 'https://evil.example' } }).then(
      () => undefined,
      (err: { status?: number; body?: string }) => err,
    );
    assert.equal(refused?.status, 403);
    assertErrorBody(JSON.parse(refused!.body!), 'forbidden');
  });

  it("accepts the same WebSocket from the node's own origin and without an Origin header", async () => {
    const own = await connectWs(`${t.wsUrl}/ws?channels=private:inbox`, { headers: { cookie, origin: t.url } });
    assert.equal((await own.next((f) => f.type === 'welcome')).user, 'victim');
    own.close();
    const server = await connectWs(`${t.wsUrl}/ws?channels=private:inbox`, { headers: { cookie } });
    assert.equal((await server.next((f) => f.type === 'welcome')).user, 'victim');
    server.close();
  });

  it('refuses a text/plain POST /frames with the cookie from a foreign Origin, so nothing is published as the victim', async () => {
    const reader = await connectWs(`${t.wsUrl}/ws?channels=private:inbox`, { headers: { cookie } });
    await reader.next((f) => f.type === 'subscribed');
    const body = JSON.stringify({ type: 'publish', id: 1, channel: 'private:inbox', data: 'forged' });
    const forged = await request('POST', `${t.url}/frames`, { body, headers: { 'content-type': 'text/plain', cookie, origin: 'https://evil.example' } });
    assert.equal(forged.status, 403);
    assertErrorBody(forged.body, 'forbidden');
    // Old browsers send form posts without an Origin: a type a form can send is refused then too.
    const noOrigin = await request('POST', `${t.url}/frames`, { body, headers: { 'content-type': 'text/plain', cookie } });
    assert.equal(noOrigin.status, 403);
    assertErrorBody(noOrigin.body, 'forbidden');
    const json = await request('POST', `${t.url}/frames`, { body: JSON.stringify({ type: 'publish', id: 2, channel: 'private:inbox', data: 'mine' }), headers: { cookie } });
    assert.equal(json.status, 200);
    assert.deepEqual(json.body[0].id, 2);
    assert.equal((await reader.next((f) => f.type === 'message')).data, 'mine');
    assert.ok(!reader.inbox.all.some((f) => f.data === 'forged'));
    reader.close();
  });
});
