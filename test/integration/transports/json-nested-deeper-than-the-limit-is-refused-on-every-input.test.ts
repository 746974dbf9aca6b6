import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHookServer, type HookServer } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

/** JSON text of `depth` nested arrays around a number. */
function nested(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

async function depthHits(url: string): Promise<number> {
  return (await scrape(url)).value('switchboard_limit_hits_total', { limit: 'json_depth' });
}

describe('limits.maxJsonDepth', () => {
  let t: TestNode;
  let hook: HookServer;
  let backend: HookServer;

  before(async () => {
    // The publish hook answers with data nested far deeper than the limit.
    hook = await startHookServer(() => ({ body: `{"allow":true,"data":${nested(1000)}}` }));
    // A routing backend that answers client messages with data nested as deep.
    backend = await startHookServer(() => ({ body: `{"answer":${nested(1000)}}` }));
    t = await startNode({
      'channels.default.publish': 'public',
      'channels.default.historySize': 10,
      'channels.namespaces': { hooked: { publish: 'hook', publishHook: hook.url } },
      'compat.push.enabled': true,
      'routing.backends': { deep: backend.url },
      'routing.routes': [{ name: 'all', key: '$default', backend: 'deep' }],
    });
  });
  after(async () => {
    await t?.stop();
    await hook?.stop();
    await backend?.stop();
  });

  it('refuses a 30,000-deep client publication with bad_request, and history and /poll keep answering for everyone', async () => {
    const before = await depthHits(t.url);
    const client = await connectWs(`${t.wsUrl}/ws`);
    try {
      await client.next((f) => f.type === 'welcome');
      client.send(`{"type":"publish","id":1,"channel":"feed","data":${nested(30_000)}}`);
      const reply = await client.next((f) => f.type === 'reply' && f.id === undefined);
      assert.equal(reply.error.code, 'bad_request');
      assert.match(reply.error.message, /deeper than 64/);
      client.send({ type: 'publish', id: 2, channel: 'feed', data: { fine: true } });
      assert.equal((await client.next((f) => f.type === 'reply' && f.id === 2)).error, undefined);
    } finally {
      client.close();
    }
    const history = await request('GET', `${t.url}/api/channels/feed/history`);
    assert.equal(history.status, 200, history.text);
    assert.deepEqual(
      history.body.publications.map((p: { data: unknown }) => p.data),
      [{ fine: true }],
    );
    const poll = await request('GET', `${t.url}/poll?channels=feed`);
    assert.equal(poll.status, 200, poll.text);
    assert.equal((await depthHits(t.url)) - before, 1);
  });

  it('accepts JSON exactly at the limit', async () => {
    const res = await request('POST', `${t.url}/api/publish`, { body: `{"channel":"feed","data":${nested(63)}}` });
    assert.equal(res.status, 200, res.text);
  });

  it('answers 400 bad_request, not 500, to a 400,000-deep body on every API that takes JSON', async () => {
    const deep = nested(400_000);
    const bodies: [string, string][] = [
      ['/api/publish', `{"channel":"feed","data":${deep}}`],
      ['/api/publish', `[{"channel":"feed","data":${deep}}]`],
      ['/api/broadcast', `{"channels":["feed"],"data":${deep}}`],
      ['/messages', `{"channel":"feed","message":${deep}}`],
      ['/api/topics/shop/topics/orders/publish', `{"data":${deep}}`],
    ];
    const before = await depthHits(t.url);
    for (const [path, body] of bodies) {
      const res = await request('POST', `${t.url}${path}`, { body });
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assertErrorBody(res.body, 'bad_request');
      assert.match(res.body.error.message, /deeper than 64/);
    }
    assert.equal((await depthHits(t.url)) - before, bodies.length);
  });

  it('answers a too-deep frame sent to /frames with a bad_request reply', async () => {
    const res = await request('POST', `${t.url}/frames`, { body: `{"type":"publish","channel":"feed","data":${nested(5000)}}` });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body[0].error.code, 'bad_request');
    assert.match(res.body[0].error.message, /deeper than 64/);
  });

  it('treats a publish hook answer nested too deep as a failed hook, not as data to publish', async () => {
    const client = await connectWs(`${t.wsUrl}/ws`);
    try {
      await client.next((f) => f.type === 'welcome');
      client.send({ type: 'publish', id: 1, channel: 'hooked:x', data: 1 });
      const reply = await client.next((f) => f.type === 'reply' && f.id === 1);
      assert.equal(reply.error.code, 'unavailable');
    } finally {
      client.close();
    }
  });

  it('treats a backend answer nested too deep as a failed call, not as the reply', async () => {
    const client = await connectWs(`${t.wsUrl}/ws`);
    try {
      await client.next((f) => f.type === 'welcome');
      client.send({ type: 'send', id: 1, data: { ask: 'deep' } });
      const reply = await client.next((f) => f.type === 'reply' && f.id === 1);
      assert.equal(reply.error?.code, 'backend_error');
      assert.match(reply.error.message, /deeper than 64/);
    } finally {
      client.close();
    }
  });
});
