import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { get, startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

describe('Presence in a namespace with presence: true', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'channels.namespaces': { chat: { presence: true }, quiet: {} } });
  });
  after(() => t.stop());

  async function client(query = ''): Promise<{ c: WsClient; session: string }> {
    const c = await connectWs(`${t.wsUrl}/ws${query}`);
    const welcome = await c.next((f) => f.type === 'welcome');
    return { c, session: welcome.session };
  }

  const members = async (channel: string) => {
    const res = await get(`${t.url}/api/channels/${encodeURIComponent(channel)}/presence`);
    assert.equal(res.status, 200, res.text);
    return res.body;
  };

  it('sends join to the other subscribers when a client subscribes with a frame, and leave when it unsubscribes', async () => {
    const alice = await client('?channels=chat:one');
    const bob = await client();
    bob.c.send({ type: 'subscribe', id: 1, channel: 'chat:one' });
    await bob.c.next((f) => f.type === 'subscribed');
    assert.deepEqual(await alice.c.next((f) => f.type === 'join'), { type: 'join', channel: 'chat:one', user: '', session: bob.session });
    bob.c.send({ type: 'unsubscribe', id: 2, channel: 'chat:one' });
    await bob.c.next((f) => f.type === 'unsubscribed');
    assert.deepEqual(await alice.c.next((f) => f.type === 'leave'), { type: 'leave', channel: 'chat:one', user: '', session: bob.session });
    assert.equal(bob.c.inbox.all.filter((f) => f.type === 'join' || f.type === 'leave').length, 0);
    alice.c.close();
    bob.c.close();
  });

  it('sends join when a client subscribes through the query string, and leave when it disconnects', async () => {
    const alice = await client('?channels=chat:two');
    const bob = await client('?channels=chat:two');
    assert.deepEqual(await alice.c.next((f) => f.type === 'join'), { type: 'join', channel: 'chat:two', user: '', session: bob.session });
    bob.c.close();
    assert.deepEqual(await alice.c.next((f) => f.type === 'leave'), { type: 'leave', channel: 'chat:two', user: '', session: bob.session });
    alice.c.close();
  });

  it('lists the members of a channel through GET /api/channels/:channel/presence', async () => {
    const alice = await client('?channels=chat:three');
    const bob = await client();
    bob.c.send({ type: 'subscribe', id: 1, channel: 'chat:three' });
    await bob.c.next((f) => f.type === 'subscribed');
    const listed = await members('chat:three');
    assert.equal(listed.channel, 'chat:three');
    assert.deepEqual(listed.members.map((m: { session: string }) => m.session).sort(), [alice.session, bob.session].sort());
    for (const m of listed.members) assert.equal(m.user, '');
    bob.c.close();
    await waitUntil(async () => (await members('chat:three')).members.length === 1, 2000, 'bob to leave the member list');
    const [left] = (await members('chat:three')).members;
    assert.equal(left.session, alice.session);
    assert.equal(left.user, '');
    alice.c.close();
  });

  it('sends no join or leave frames in a namespace without presence, and has no presence list there', async () => {
    const alice = await client('?channels=quiet:room');
    const bob = await client();
    bob.c.send({ type: 'subscribe', id: 1, channel: 'quiet:room' });
    await bob.c.next((f) => f.type === 'subscribed');
    bob.c.close();
    alice.c.send({ type: 'ping', id: 'sync' });
    await alice.c.next((f) => f.type === 'pong');
    assert.equal(alice.c.inbox.all.filter((f) => f.type === 'join' || f.type === 'leave').length, 0);
    const res = await get(`${t.url}/api/channels/quiet:room/presence`);
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found');
    alice.c.close();
  });
});
