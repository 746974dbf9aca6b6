import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHookServer, type HookServer } from '../../helpers/auth.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';

describe('client messages are routed by route key, regex or rules service', () => {
  let chat: HookServer;
  let commands: HookServer;
  let fallback: HookServer;
  let rules: HookServer;
  let node: TestNode;
  let client: WsClient;

  before(async () => {
    const echo = (name: string) => async (call: { body: any }) => ({ body: { handledBy: name, data: call.body.data } });
    chat = await startHookServer(echo('chat'));
    commands = await startHookServer(echo('commands'));
    fallback = await startHookServer(echo('fallback'));
    // The rules service picks by the message's "topic" field: a backend, a channel, no choice, or nonsense.
    rules = await startHookServer(({ body }) => {
      const topic = body.data?.topic;
      if (topic === 'support') return { body: { backend: 'chat' } };
      if (topic === 'news') return { body: { channel: 'news' } };
      if (topic === 'ghost') return { body: { backend: 'no-such-backend' } };
      if (topic === 'odd') return { body: { what: 1 } };
      return { body: {} };
    });
    node = await startNode({
      'routing.backends': { chat: chat.url, commands: `${commands.url}/commands`, fallback: fallback.url },
      'routing.routes': [
        { name: 'chat', key: 'chat', backend: 'chat' },
        { name: 'slash', regex: '^/', backend: 'commands' },
        { name: 'ask-rules', rules: `${rules.url}/route` },
        { name: 'rest', key: '$default', backend: 'fallback' },
      ],
    });
    client = await connectWs(`${node.wsUrl}/ws`);
    await client.next((f) => f.type === 'welcome');
  });

  after(async () => {
    client?.close();
    await node?.stop();
    await Promise.all([chat, commands, fallback, rules].map((s) => s?.stop()));
  });

  const ask = async (frame: Record<string, unknown>) => {
    const id = Math.random().toString(36).slice(2);
    client.send({ ...frame, id });
    return client.next((f) => f.type === 'reply' && f.id === id);
  };

  it('sends a message whose selection expression value equals a route key to that route', async () => {
    const reply = await ask({ type: 'send', data: { action: 'chat', text: 'hi' } });
    assert.deepEqual(reply.data, { handledBy: 'chat', data: { action: 'chat', text: 'hi' } });
  });

  it('matches regex routes against the raw message text', async () => {
    const reply = await ask({ type: 'send', data: '/join lobby' });
    assert.deepEqual(reply.data, { handledBy: 'commands', data: '/join lobby' });
    assert.equal(commands.calls.at(-1)!.path, '/commands');
  });

  it('lets the rules service choose a backend', async () => {
    const reply = await ask({ type: 'send', data: { topic: 'support' } });
    assert.equal(reply.data.handledBy, 'chat');
    assert.equal(rules.calls.at(-1)!.path, '/route');
    assert.equal(rules.calls.at(-1)!.body.route, 'ask-rules');
  });

  it('lets the rules service choose a channel, which gets the message as a publication', async () => {
    const listener = await connectWs(`${node.wsUrl}/ws?channel=news`);
    try {
      await listener.next((f) => f.type === 'subscribed');
      const reply = await ask({ type: 'send', data: { topic: 'news', headline: 'routed' } });
      assert.equal(reply.data.subscribers, 1);
      const message = await listener.next((f) => f.type === 'message');
      assert.deepEqual(message.data, { topic: 'news', headline: 'routed' });
    } finally {
      listener.close();
    }
  });

  it('goes on to the next route when the rules service makes no choice', async () => {
    const reply = await ask({ type: 'send', data: { topic: 'other' } });
    assert.equal(reply.data.handledBy, 'fallback');
  });

  it('answers backend_error when the rules service names a backend that does not exist', async () => {
    const reply = await ask({ type: 'send', data: { topic: 'ghost' } });
    assert.equal(reply.error.code, 'backend_error');
    assert.match(reply.error.message, /no-such-backend/);
    const metrics = await scrape(node.url);
    assert.equal(metrics.value('switchboard_routed_messages_total', { route: 'ask-rules', outcome: 'unknown_destination' }), 1);
  });

  it('answers backend_error when the rules service answers an object of none of the documented shapes', async () => {
    const reply = await ask({ type: 'send', data: { topic: 'odd' } });
    assert.equal(reply.error?.code, 'backend_error', JSON.stringify(reply));
    assert.match(reply.error.message, /ask-rules/);
  });

  it('routes an rpc by its method', async () => {
    const reply = await ask({ type: 'rpc', method: 'chat', data: { text: 'by method' } });
    assert.deepEqual(reply.data, { handledBy: 'chat', data: { text: 'by method' } });
    assert.equal(chat.calls.at(-1)!.body.method, 'chat');
    assert.equal(chat.calls.at(-1)!.body.kind, 'rpc');
  });
});

describe('a message no route matches', () => {
  it('is answered not_found and counted as unmatched', async (t) => {
    const backend = await startHookServer(() => ({ body: {} }));
    const node = await startNode({ 'routing.backends': { only: backend.url }, 'routing.routes': [{ key: 'known', backend: 'only' }] });
    const client = await connectWs(`${node.wsUrl}/ws`);
    t.after(async () => {
      client.close();
      await node.stop();
      await backend.stop();
    });
    client.send({ type: 'send', id: 1, data: { action: 'unknown' } });
    const reply = await client.next((f) => f.type === 'reply' && f.id === 1);
    assert.equal(reply.error.code, 'not_found');
    assert.equal(backend.calls.length, 0);
    const metrics = await scrape(node.url);
    assert.equal(metrics.value('switchboard_routed_messages_total', { route: '-', outcome: 'unmatched' }), 1);
  });
});
