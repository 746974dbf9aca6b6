import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { hmacToken } from '../../helpers/auth.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';

const secret = 'gateway-cookie-test-secret-of-some-length';
const listed = 'http://app.example.test';
const foreign = 'http://evil.example.test';

/** Resolves with the handshake's HTTP status: 101 when the socket opened. */
function handshake(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    ws.once('error', reject);
  });
}

/**
 * A browser sends the token cookie with any page's requests to the node's host, WebSocket
 * handshakes included: a cookie-authenticated gateway route must not let a foreign page act as the visitor.
 */
describe('gateway routes with auth: jwt and the token cookie', () => {
  let node: TestNode;
  let upstream: HttpUpstream;
  let sockets: WebSocketServer;
  let cookie: string;
  let bearer: string;

  before(async () => {
    upstream = await startHttpUpstream('svc');
    sockets = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(sockets, 'listening');
    node = await startNode({
      'auth.jwt.secrets': [secret],
      'server.allowedOrigins': [listed],
      'gateway.enabled': true,
      'gateway.services': { svc: { instances: [upstream.url] }, live: { instances: [`http://127.0.0.1:${(sockets.address() as AddressInfo).port}`] } },
      'gateway.routes': [
        { name: 'api', service: 'svc', path: '/jwt', auth: 'jwt', claimHeaders: { sub: 'x-user-id' } },
        { name: 'live', service: 'live', path: '/live', auth: 'jwt' },
      ],
    });
    const token = await hmacToken(secret, { sub: 'alice' });
    cookie = `switchboard_token=${token}`;
    bearer = `Bearer ${token}`;
  });
  after(async () => {
    await node?.stop();
    await upstream?.kill();
    for (const socket of sockets?.clients ?? []) socket.terminate();
    sockets?.close();
  });

  it("opens a WebSocket with the cookie from the node's own origin, a listed origin, or a client that sends no Origin", async () => {
    const own = `http://127.0.0.1:${new URL(node.url).port}`;
    for (const origin of [own, listed, undefined]) {
      assert.equal(await handshake(`${node.wsUrl}/live`, { cookie, ...(origin ? { origin } : {}) }), 101, `origin ${origin}`);
    }
  });

  it('refuses a WebSocket handshake that carries the cookie from a page of another origin with 403', async () => {
    assert.equal(await handshake(`${node.wsUrl}/live`, { cookie, origin: foreign }), 403);
  });

  it('still accepts a bearer token whatever the Origin, since a page cannot make a browser send it', async () => {
    assert.equal(await handshake(`${node.wsUrl}/live`, { authorization: bearer, origin: foreign }), 101);
    const res = await request('POST', `${node.url}/jwt/orders`, { headers: { authorization: bearer, origin: foreign }, body: '{}' });
    assert.equal(res.status, 200);
    assert.equal(res.body.headers['x-user-id'], 'alice');
  });

  it('refuses an HTTP request that carries the cookie from another origin with 403 forbidden, and passes one from a listed origin as the user', async () => {
    const refused = await request('POST', `${node.url}/jwt/orders`, { headers: { cookie, origin: foreign }, body: '{}' });
    assert.equal(refused.status, 403);
    assertErrorBody(refused.body, 'forbidden');
    assert.match(refused.body.error.message, /evil\.example\.test.*allowedOrigins/);
    const allowed = await request('POST', `${node.url}/jwt/orders`, { headers: { cookie, origin: listed }, body: '{}' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.headers['x-user-id'], 'alice');
  });
});
