import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hmacToken, startHookServer, type HookServer } from '../../helpers/auth.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';

describe('backends receive the envelope and answer the client', () => {
  const secret = 'routing-envelope-secret';
  let backend: HookServer;
  let node: TestNode;
  let client: WsClient;
  let sessionId: string;

  before(async () => {
    backend = await startHookServer(({ body }) => {
      if (body.data?.action === 'later') return { status: 202, body: '' };
      return { body: { echoed: body.data, attempt: body.attempt } };
    });
    node = await startNode({
      'auth.jwt.secrets': [secret],
      'routing.backends': { app: { url: `${backend.url}/in`, headers: { 'X-Shared-Secret': 'from-config' } } },
      'routing.routes': [{ name: 'everything', key: '$default', backend: 'app' }],
    });
    const token = await hmacToken(secret, { sub: 'ünïcode-user', plan: 'pro', name: 'Zoë' });
    client = await connectWs(`${node.wsUrl}/ws?token=${token}`);
    sessionId = (await client.next((f) => f.type === 'welcome')).session;
  });

  after(async () => {
    client?.close();
    await node?.stop();
    await backend?.stop();
  });

  it('posts the message with session, user, context, node and message id in the body and in headers', async () => {
    client.send({ type: 'send', id: 'a1', data: { action: 'hello', n: 1 } });
    await client.next((f) => f.type === 'reply' && f.id === 'a1');
    const call = backend.calls.at(-1)!;
    assert.equal(call.path, '/in');
    const { body, headers } = call;
    assert.equal(body.kind, 'send');
    assert.equal(body.route, 'everything');
    assert.deepEqual(body.data, { action: 'hello', n: 1 });
    assert.equal(body.session, sessionId);
    assert.equal(body.user, 'ünïcode-user');
    assert.equal(body.context.plan, 'pro');
    assert.equal(body.node, node.node.id);
    assert.equal(body.transport, 'ws');
    assert.equal(body.replyTo, 'a1');
    assert.equal(body.attempt, 1);
    assert.match(body.id, /^[0-9a-f-]{36}$/);
    assert.equal(headers['x-switchboard-message-id'], body.id);
    assert.equal(headers['x-switchboard-session'], sessionId);
    assert.equal(JSON.parse(`"${headers['x-switchboard-user']}"`), 'ünïcode-user');
    assert.equal(JSON.parse(headers['x-switchboard-context'] as string).name, 'Zoë');
    assert.equal(headers['x-switchboard-node'], node.node.id);
    assert.equal(headers['x-switchboard-route'], 'everything');
    assert.equal(headers['x-switchboard-attempt'], '1');
    assert.equal(headers['x-switchboard-reply-to'], '"a1"');
    assert.equal(headers['x-shared-secret'], 'from-config');
  });

  it('gives each message its own id', async () => {
    client.send([
      { type: 'send', id: 'b1', data: 1 },
      { type: 'send', id: 'b2', data: 2 },
    ]);
    await client.next((f) => f.type === 'reply' && f.id === 'b2');
    const [first, second] = backend.calls.slice(-2);
    assert.notEqual(first!.body.id, second!.body.id);
  });

  it("returns the backend's JSON answer to the client as the reply to the frame id", async () => {
    client.send({ type: 'send', id: 7, data: { action: 'echo' } });
    const reply = await client.next((f) => f.type === 'reply' && f.id === 7);
    assert.deepEqual(reply.data, { echoed: { action: 'echo' }, attempt: 1 });
  });

  it('sends no reply for a message without an id', async () => {
    const calls = backend.calls.length;
    client.send({ type: 'send', data: { action: 'fire-and-forget' } });
    client.send({ type: 'ping', id: 'after' });
    await client.next((f) => f.type === 'pong' && f.id === 'after');
    while (backend.calls.length === calls) await new Promise((r) => setTimeout(r, 10));
    client.send({ type: 'ping', id: 'after2' });
    await client.next((f) => f.type === 'pong' && f.id === 'after2');
    assert.equal(client.inbox.all.filter((f: any) => f.type === 'reply' && f.id === undefined).length, 0);
  });

  it('lets a backend that answered 202 reply later through the API', async () => {
    client.send({ type: 'rpc', id: 'slow-1', method: 'later', data: { action: 'later' } });
    while (!backend.calls.some((c) => c.body.replyTo === 'slow-1')) await new Promise((r) => setTimeout(r, 10));
    const answered = await post(`${node.url}/api/sessions/${sessionId}/replies`, { id: 'slow-1', data: { done: true } });
    assert.equal(answered.status, 200);
    const reply = await client.next((f) => f.type === 'reply' && f.id === 'slow-1');
    assert.deepEqual(reply.data, { done: true });
  });

  it('lets a backend answer later with an error', async () => {
    const answered = await post(`${node.url}/api/sessions/${sessionId}/replies`, { id: 'slow-2', error: { code: 'forbidden', message: 'not yours' } });
    assert.equal(answered.status, 200);
    const reply = await client.next((f) => f.type === 'reply' && f.id === 'slow-2');
    assert.deepEqual(reply.error, { code: 'forbidden', message: 'not yours' });
  });

  it('refuses a late reply without an id, with an unknown error code, or to a session that does not exist', async () => {
    assert.equal((await post(`${node.url}/api/sessions/${sessionId}/replies`, { data: 1 })).status, 400);
    assert.equal((await post(`${node.url}/api/sessions/${sessionId}/replies`, { id: 1, error: { code: 'nope', message: 'x' } })).status, 400);
    assert.equal((await post(`${node.url}/api/sessions/${sessionId}/replies`, { id: 1, data: 1, error: { code: 'forbidden', message: 'x' } })).status, 400);
    const missing = await post(`${node.url}/api/sessions/00000000-0000-0000-0000-000000000000/replies`, { id: 1, data: 1 });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
  });
});
