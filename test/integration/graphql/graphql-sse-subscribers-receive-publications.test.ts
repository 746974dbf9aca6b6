import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'graphql-sse';
import { get, post, startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';
import { hmacToken } from '../../helpers/auth.js';

describe('graphql-sse subscribers of a channel', () => {
  const secret = 'graphql-sse-secret';
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'graphql.enabled': true, 'auth.anonymous': false, 'auth.jwt.secrets': [secret], 'channels.namespaces': { news: { historySize: 10 } } });
  });
  after(() => t.stop());

  it('receive publications over one event stream per operation, as a session of transport graphql-sse', async () => {
    const token = await hmacToken(secret, { sub: 'ada' });
    const client = createClient({ url: `${t.url}/graphql`, headers: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    const received: unknown[] = [];
    let ended: unknown = 'running';
    const stop = client.subscribe<any>(
      { query: 'subscription { channel(name: "news:sse") { channel offset data } }' },
      { next: (result) => void received.push(result), error: (err) => (ended = err), complete: () => (ended = undefined) },
    );
    try {
      await waitUntil(async () => (await get(`${t.url}/api/sessions?user=ada`)).body.sessions?.some((s: any) => s.channels.includes('news:sse')), 5000, 'the session');
      const [session] = (await get(`${t.url}/api/sessions?user=ada`)).body.sessions;
      assert.equal(session.transport, 'graphql-sse');
      assert.ok(session.channels.includes('user:ada'), 'the session has its personal channel');
      await post(`${t.url}/api/publish`, { channel: 'news:sse', data: { n: 1 } });
      await post(`${t.url}/api/publish`, { channel: 'news:sse', data: { n: 2 } });
      await waitUntil(() => received.length === 2, 5000, 'two results');
      assert.deepEqual(received, [
        { data: { channel: { channel: 'news:sse', offset: 1, data: { n: 1 } } } },
        { data: { channel: { channel: 'news:sse', offset: 2, data: { n: 2 } } } },
      ]);
      assert.equal(ended, 'running');
    } finally {
      stop();
      client.dispose();
    }
    await waitUntil(async () => (await get(`${t.url}/api/sessions?user=ada`)).body.sessions.length === 0, 5000, 'the session to end with the stream');
  });

  it('refuse a request without a token with 401, and answer a query as one event', async () => {
    const refused = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: '{ history(channel: "news:sse") { offset } }' }),
    });
    assert.equal(refused.status, 401);
    const token = await hmacToken(secret, { sub: 'ada' });
    const answered = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ history(channel: "news:empty") { offset publications { data } } }' }),
    });
    assert.equal(answered.status, 200);
    const text = await answered.text();
    assert.match(text, /event: next\ndata: \{"data":\{"history":\{"offset":0,"publications":\[\]\}\}\}\n\n/);
    assert.match(text, /event: complete\n/);
  });
});
