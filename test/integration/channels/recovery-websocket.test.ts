import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';

const historyNamespace = { h: { subscribe: 'public', publish: 'server', presence: false, historySize: 50, historyTtl: '1m' } };

async function subscribed(client: WsClient, channel: string, since?: { offset: number; epoch: string }) {
  client.send({ type: 'subscribe', id: channel, channel, since });
  return client.next((f) => f.type === 'subscribed' && f.channel === channel);
}

const messagesOf = (client: WsClient, channel: string) => client.inbox.all.filter((f) => f.type === 'message' && f.channel === channel);

describe('recovery over WebSocket', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'channels.namespaces': historyNamespace });
  });
  after(() => t.stop());

  it('gives publications on channels with history an offset and an epoch', async () => {
    const client = await connectWs(`${t.wsUrl}/ws`);
    const reply = await subscribed(client, 'h:positions');
    assert.equal(reply.offset, 0);
    const published = await post(`${t.url}/api/publish`, { channel: 'h:positions', data: 'x' });
    assert.equal(published.body.offset, 1);
    assert.equal(typeof published.body.epoch, 'string');
    const message = await client.next((f) => f.type === 'message');
    assert.deepEqual(message, { type: 'message', channel: 'h:positions', data: 'x', offset: 1, epoch: published.body.epoch });
    client.close();
  });

  it('replays exactly the publications missed while disconnected, in order, then continues live', async () => {
    const first = await connectWs(`${t.wsUrl}/ws`);
    await subscribed(first, 'h:resume');
    for (let i = 1; i <= 3; i++) await post(`${t.url}/api/publish`, { channel: 'h:resume', data: i });
    const last = await first.next((f) => f.type === 'message' && f.data === 3);
    first.close();
    await first.closed;
    for (let i = 4; i <= 8; i++) await post(`${t.url}/api/publish`, { channel: 'h:resume', data: i });

    const second = await connectWs(`${t.wsUrl}/ws`);
    const reply = await subscribed(second, 'h:resume', { offset: last.offset, epoch: last.epoch });
    assert.equal(reply.recovered, true);
    assert.equal(reply.replayed, 5);
    assert.equal(reply.offset, 8);
    await post(`${t.url}/api/publish`, { channel: 'h:resume', data: 9 });
    await second.next((f) => f.type === 'message' && f.data === 9);
    assert.deepEqual(
      messagesOf(second, 'h:resume').map((m) => m.data),
      [4, 5, 6, 7, 8, 9],
    );
    assert.deepEqual(
      messagesOf(second, 'h:resume').map((m) => m.offset),
      [4, 5, 6, 7, 8, 9],
    );
    second.close();
  });

  it('loses nothing and doubles nothing when publications race the resubscribe', async () => {
    const channel = 'h:race';
    const seed = await post(`${t.url}/api/publish`, { channel, data: 0 });
    const since = { offset: seed.body.offset, epoch: seed.body.epoch };
    const client = await connectWs(`${t.wsUrl}/ws`);
    // Publish 40 while the subscription with recovery is being set up.
    const publishing = (async () => {
      for (let i = 1; i <= 40; i++) await post(`${t.url}/api/publish`, { channel, data: i });
    })();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const reply = await subscribed(client, channel, since);
    assert.equal(reply.recovered, true);
    await publishing;
    await client.next((f) => f.type === 'message' && f.data === 40);
    const offsets = messagesOf(client, channel).map((m) => m.offset);
    assert.deepEqual(
      offsets,
      Array.from({ length: offsets.length }, (_, i) => since.offset + 1 + i),
    );
    assert.deepEqual(
      messagesOf(client, channel).map((m) => m.data),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    client.close();
  });

  it('says recovered: false with the current position when the history window was exceeded', async () => {
    const channel = 'h:window';
    const seed = await post(`${t.url}/api/publish`, { channel, data: 0 });
    await post(
      `${t.url}/api/publish`,
      Array.from({ length: 60 }, (_, i) => ({ channel, data: i + 1 })),
    );
    const client = await connectWs(`${t.wsUrl}/ws`);
    const reply = await subscribed(client, channel, { offset: seed.body.offset, epoch: seed.body.epoch });
    assert.equal(reply.recovered, false);
    assert.equal(reply.offset, seed.body.offset + 60);
    assert.equal(reply.epoch, seed.body.epoch);
    assert.equal(reply.replayed, undefined);
    await post(`${t.url}/api/publish`, { channel, data: 'live' });
    assert.equal((await client.next((f) => f.type === 'message')).data, 'live');
    client.close();
  });

  it('says recovered: false when the epoch differs', async () => {
    const channel = 'h:epoch';
    const seed = await post(`${t.url}/api/publish`, { channel, data: 0 });
    const client = await connectWs(`${t.wsUrl}/ws`);
    const reply = await subscribed(client, channel, { offset: seed.body.offset, epoch: 'deadbeef' });
    assert.equal(reply.recovered, false);
    assert.equal(reply.epoch, seed.body.epoch);
    client.close();
  });

  it('recovers a channel that had no publications yet when the client subscribed', async () => {
    const channel = 'h:empty-at-first';
    const client = await connectWs(`${t.wsUrl}/ws`);
    const first = await subscribed(client, channel);
    assert.deepEqual([first.offset, first.epoch], [0, '']);
    client.close();
    await post(`${t.url}/api/publish`, { channel, data: 'a' });
    const again = await connectWs(`${t.wsUrl}/ws`);
    const reply = await subscribed(again, channel, { offset: 0, epoch: '' });
    assert.equal(reply.recovered, true);
    assert.deepEqual(
      messagesOf(again, channel).map((m) => m.data),
      ['a'],
    );
    again.close();
  });

  it('answers since on a channel without history with recovered: false', async () => {
    const client = await connectWs(`${t.wsUrl}/ws`);
    const reply = await subscribed(client, 'no-history', { offset: 3, epoch: 'abc' });
    assert.equal(reply.recovered, false);
    client.close();
  });

  it('refuses a malformed since with bad_request', async () => {
    const client = await connectWs(`${t.wsUrl}/ws`);
    client.send({ type: 'subscribe', id: 5, channel: 'h:x', since: { offset: -1 } });
    const reply = await client.next((f) => f.type === 'reply' && f.id === 5);
    assert.equal(reply.error.code, 'bad_request');
    client.close();
  });
});
