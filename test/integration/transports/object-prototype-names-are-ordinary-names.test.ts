import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken } from '../../helpers/auth.js';
import { connectWs } from '../../helpers/clients.js';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';

const secret = 'prototype-names-test-secret-long-enough';

/** Every name a plain object inherits: as a key of an object lookup, each would find something. */
const names = Object.getOwnPropertyNames(Object.prototype);

describe('names of Object.prototype members', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'auth.jwt.secrets': [secret], 'channels.default.publish': 'server', 'channels.namespaces': { news: { historySize: 5 } } });
  });
  after(() => t?.stop());

  it('are unknown namespaces: an anonymous client can neither subscribe nor publish there', async () => {
    assert.ok(names.includes('__proto__') && names.includes('hasOwnProperty'));
    const client = await connectWs(`${t.wsUrl}/ws`);
    try {
      await client.next((f) => f.type === 'welcome');
      let id = 0;
      for (const name of names) {
        client.send({ type: 'subscribe', id: ++id, channel: `${name}:x` });
        assert.equal((await client.next((f) => f.type === 'reply' && f.id === id)).error?.code, 'not_found', `subscribe ${name}:x`);
        client.send({ type: 'publish', id: ++id, channel: `${name}:x`, data: 1 });
        assert.equal((await client.next((f) => f.type === 'reply' && f.id === id)).error?.code, 'not_found', `publish ${name}:x`);
        const sse = await request('GET', `${t.url}/poll?channels=${name}:x`);
        assert.equal(sse.status, 404, `poll ${name}:x: ${sse.text}`);
        const api = await request('POST', `${t.url}/api/publish`, { body: { channel: `${name}:x`, data: 1 } });
        assert.equal(api.status, 404, `API publish ${name}:x: ${api.text}`);
      }
    } finally {
      client.close();
    }
  });

  it('are ordinary channel names: the default options apply, so clients subscribe but only the API publishes', async () => {
    const client = await connectWs(`${t.wsUrl}/ws`);
    try {
      await client.next((f) => f.type === 'welcome');
      let id = 0;
      for (const name of names) {
        client.send({ type: 'subscribe', id: ++id, channel: name });
        await client.next((f) => f.type === 'subscribed' && f.id === id);
        client.send({ type: 'publish', id: ++id, channel: name, data: 1 });
        assert.equal((await client.next((f) => f.type === 'reply' && f.id === id)).error?.code, 'forbidden', `publish ${name}`);
        const api = await request('POST', `${t.url}/api/publish`, { body: { channel: name, data: { on: name } } });
        assert.equal(api.status, 200, api.text);
        assert.deepEqual((await client.next((f) => f.type === 'message' && f.channel === name)).data, { on: name });
      }
      const listed = await request('GET', `${t.url}/api/channels`);
      assert.equal(listed.status, 200);
      for (const name of names) assert.ok(JSON.stringify(listed.body).includes(JSON.stringify(name)), `listed ${name}`);
    } finally {
      client.close();
    }
  });

  it('are ordinary user ids: each gets its own sessions, personal channel and messages', async () => {
    for (const name of names) {
      const token = await hmacToken(secret, { sub: name });
      const client = await connectWs(`${t.wsUrl}/ws`, { headers: { authorization: `Bearer ${token}` } });
      try {
        const welcome = await client.next((f) => f.type === 'welcome');
        assert.equal(welcome.user, name);
        assert.deepEqual(welcome.channels, [`user:${name}`]);
        const sessions = await request('GET', `${t.url}/api/users/${encodeURIComponent(name)}/sessions`);
        assert.equal(sessions.status, 200, sessions.text);
        assert.equal(sessions.body.sessions.length, 1, `sessions of ${name}: ${sessions.text}`);
        const sent = await request('POST', `${t.url}/api/users/${encodeURIComponent(name)}/messages`, { body: { data: { to: name } } });
        assert.ok(sent.status < 300, sent.text);
        assert.deepEqual((await client.next((f) => f.type === 'message' && f.channel === undefined)).data, { to: name });
      } finally {
        client.close();
      }
    }
  });

  it('are ordinary application and topic names', async () => {
    for (const name of names.filter((n) => /^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(n))) {
      const app = await request('POST', `${t.url}/api/topics/applications`, { body: { id: name } });
      assert.equal(app.status, 201, `application ${name}: ${app.text}`);
      const topic = await request('POST', `${t.url}/api/topics/${name}/topics`, { body: { name } });
      assert.equal(topic.status, 201, `topic ${name}: ${topic.text}`);
      const published = await request('POST', `${t.url}/api/topics/${name}/topics/${name}/publish`, { body: { data: { in: name } } });
      assert.ok(published.status < 300, `publish to ${name}: ${published.text}`);
      const read = await request('GET', `${t.url}/api/topics/${name}/topics/${name}/messages`);
      assert.equal(read.status, 200, read.text);
      assert.deepEqual(
        read.body.messages.map((m: { data: unknown }) => m.data),
        [{ in: name }],
      );
      const other = await request('GET', `${t.url}/api/topics/${name}x/topics`);
      assert.equal(other.status, 404, `an unknown application next to ${name}: ${other.text}`);
    }
  });
});
