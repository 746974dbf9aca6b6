import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { connectSse, connectWs } from '../../helpers/clients.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';

const secret = 'cors-secret';
const app = 'http://app.example:3000';

async function refusedUpgrade(url: string, headers: Record<string, string>): Promise<{ status?: number; body?: string } | undefined> {
  return connectWs(url, { headers }).then(
    (ws) => {
      ws.close();
      return undefined;
    },
    (err: { status?: number; body?: string }) => err,
  );
}

describe('browsers on other origins: CORS for listed origins, 403 for the rest', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({
      'server.allowedOrigins': [app, 'https://*.example.com'],
      'api.allowedOrigins': ['https://admin.example.org'],
      'auth.jwt.secrets': [secret],
      'auth.anonymous': true,
      'compat.push.enabled': true,
      'channels.namespaces': { feed: { historySize: 10 }, private: { subscribe: 'authenticated' } },
    });
  });
  after(() => t.stop());

  it('answers /sse, /stream, /poll and /client/* from a listed origin with its origin, credentials and Vary: Origin', async () => {
    for (const path of ['/poll?channels=feed:a', '/client/index.js']) {
      const res = await request('GET', `${t.url}${path}`, { headers: { origin: app } });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('access-control-allow-origin'), app, path);
      assert.equal(res.headers.get('access-control-allow-credentials'), 'true', path);
      assert.match(res.headers.get('vary') ?? '', /Origin/, path);
    }
    for (const path of ['/sse?channels=feed:a', '/stream?channels=feed:a', '/sse/messages']) {
      const controller = new AbortController();
      const res = await fetch(`${t.url}${path}`, { headers: { origin: 'https://deep.sub.example.com' }, signal: controller.signal });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('access-control-allow-origin'), 'https://deep.sub.example.com', path);
      assert.equal(res.headers.get('access-control-allow-credentials'), 'true', path);
      controller.abort();
    }
  });

  it('also answers errors from a listed origin with CORS headers, so the page can read them', async () => {
    const res = await request('GET', `${t.url}/poll?channels=private:x`, { headers: { origin: app } });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('access-control-allow-origin'), app);
  });

  it('refuses every client endpoint and the WebSocket upgrades from an origin not listed, with 403 forbidden', async () => {
    for (const [method, path] of [
      ['GET', '/sse?channels=feed:a'],
      ['GET', '/stream'],
      ['GET', '/poll?channels=feed:a'],
      ['GET', '/client/index.js'],
      ['POST', '/frames'],
      ['OPTIONS', '/frames'],
    ] as const) {
      const res = await request(method, `${t.url}${path}`, { headers: { origin: 'https://example.com.evil.net' }, ...(method === 'POST' ? { body: { type: 'ping' } } : {}) });
      assert.equal(res.status, 403, `${method} ${path}`);
      assertErrorBody(res.body, 'forbidden');
      assert.equal(res.headers.get('access-control-allow-origin'), null);
    }
    for (const path of ['/ws', '/ws/messages']) {
      const refused = await refusedUpgrade(`${t.wsUrl}${path}`, { origin: 'http://app.example:3001' });
      assert.equal(refused?.status, 403, path);
      assertErrorBody(JSON.parse(refused!.body!), 'forbidden');
    }
    const listed = await connectWs(`${t.wsUrl}/ws`, { headers: { origin: app } });
    await listed.next((f) => f.type === 'welcome');
    listed.close();
  });

  it('answers a preflight for the methods and headers the SDK uses, and refuses others', async () => {
    const ok = await request('OPTIONS', `${t.url}/frames`, {
      headers: { origin: app, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization, x-switchboard-anything' },
    });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), app);
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(ok.headers.get('access-control-allow-methods'), 'POST');
    assert.equal(ok.headers.get('access-control-allow-headers'), 'content-type, authorization, x-switchboard-anything');
    const sse = await request('OPTIONS', `${t.url}/sse`, {
      headers: { origin: app, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,last-event-id' },
    });
    assert.equal(sse.status, 204);
    assert.equal(sse.headers.get('access-control-allow-origin'), app);
    assert.match(sse.headers.get('access-control-allow-headers') ?? '', /last-event-id/i);
    const method = await request('OPTIONS', `${t.url}/sse`, { headers: { origin: app, 'access-control-request-method': 'DELETE' } });
    assert.equal(method.status, 403);
    assertErrorBody(method.body, 'forbidden');
    assert.match(method.body.error.message, /DELETE/);
    const header = await request('OPTIONS', `${t.url}/frames`, {
      headers: { origin: app, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' },
    });
    assert.equal(header.status, 403);
    assert.match(header.body.error.message, /x-api-key/);
  });

  it('gives the server API CORS only for api.allowedOrigins; client origins are refused there', async () => {
    const admin = await request('POST', `${t.url}/api/publish`, { body: { channel: 'feed:a', data: 1 }, headers: { origin: 'https://admin.example.org' } });
    assert.equal(admin.status, 200);
    assert.equal(admin.headers.get('access-control-allow-origin'), 'https://admin.example.org');
    const preflight = await request('OPTIONS', `${t.url}/api/publish`, {
      headers: { origin: 'https://admin.example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' },
    });
    assert.equal(preflight.status, 204);
    const page = await request('POST', `${t.url}/api/publish`, { body: { channel: 'feed:a', data: 1 }, headers: { origin: app } });
    assert.equal(page.status, 403);
    assertErrorBody(page.body, 'forbidden');
  });

  it('refuses a malformed Origin with 403 while a subscriber keeps receiving', async () => {
    const sse = await connectSse(`${t.url}/sse?channels=lobby`);
    await sse.next((e) => e.event === 'subscribed');
    for (const origin of ['not an origin', 'http://app.example:3000/path', 'null', 'javascript:alert(1)', 'HTTP://APP.EXAMPLE:3000']) {
      const res = await request('GET', `${t.url}/poll?channels=feed:b`, { headers: { origin } });
      assert.equal(res.status, 403, origin);
      assertErrorBody(res.body, 'forbidden');
    }
    const refused = await refusedUpgrade(`${t.wsUrl}/ws`, { origin: '%%%' });
    assert.equal(refused?.status, 403);
    await post(`${t.url}/api/publish`, { channel: 'lobby', data: 'still here' });
    assert.equal(JSON.parse((await sse.next((e) => e.event === 'message' && e.data !== '')).data).data, 'still here');
    sse.close();
  });
});

describe('allowedOrigins * lets every page in, without credentials', () => {
  let t: TestNode;
  let cookie: string;
  before(async () => {
    t = await startNode({
      'server.allowedOrigins': ['*'],
      'auth.jwt.secrets': [secret],
      'auth.anonymous': true,
      'channels.namespaces': { private: { subscribe: 'authenticated' } },
    });
    cookie = `switchboard_token=${await hmacToken(secret, { sub: 'visitor' })}`;
  });
  after(() => t.stop());

  it('answers Access-Control-Allow-Origin: * without Allow-Credentials', async () => {
    const res = await request('GET', `${t.url}/client/index.js`, { headers: { origin: 'https://anyone.test' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
  });

  it("ignores a cookie token from such a page on a WebSocket and over HTTP, and takes it from the node's own origin", async () => {
    const ws = await connectWs(`${t.wsUrl}/ws`, { headers: { cookie, origin: 'https://anyone.test' } });
    assert.equal((await ws.next((f) => f.type === 'welcome')).user, '');
    ws.close();
    const poll = await request('GET', `${t.url}/poll?channels=private:x`, { headers: { cookie, origin: 'https://anyone.test' } });
    assert.equal(poll.status, 403);
    const own = await connectWs(`${t.wsUrl}/ws`, { headers: { cookie, origin: t.url } });
    assert.equal((await own.next((f) => f.type === 'welcome')).user, 'visitor');
    own.close();
  });
});
