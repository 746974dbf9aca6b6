import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SwitchboardClient, SwitchboardClientError, type TransportName } from '../../../src/client/index.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

/** A node whose `chat` channels have history and presence, and whose clients may publish there. */
describe('the client SDK on the one-way transports, forced by option', () => {
  let t: TestNode;
  const clients: SwitchboardClient[] = [];
  before(async () => {
    t = await startNode({ 'channels.namespaces': { chat: { publish: 'public', presence: true, historySize: 50 } }, 'longPoll.timeout': '2s' });
  });
  after(async () => {
    for (const client of clients) client.close();
    await t.stop();
  });

  const connect = async (transport: TransportName) => {
    const client = new SwitchboardClient(t.url, { transports: [transport], minReconnectDelay: 50, maxReconnectDelay: 200 });
    clients.push(client);
    await client.connect();
    assert.equal(client.session?.transport, transport);
    return client;
  };

  for (const transport of ['sse', 'long-poll'] as const) {
    it(`${transport}: receives publications, publishes and asks for presence over POST /frames, and adds channels later`, async () => {
      const room = `chat:${transport}`;
      const client = await connect(transport);
      const got: unknown[] = [];
      await client.subscribe(room, (data) => got.push(data)).ready;
      const published = await client.publish(room, { text: 'from the client' });
      assert.equal(typeof published.offset, 'number');
      await post(`${t.url}/api/publish`, { channel: room, data: { text: 'from the API' } });
      await waitUntil(() => got.length === 2, 5000, 'both publications');
      assert.deepEqual(got, [{ text: 'from the client' }, { text: 'from the API' }]);

      // A second channel reopens the one-way connection with the positions reached: nothing is lost or repeated.
      const other: unknown[] = [];
      await client.subscribe(`${room}-2`, (data) => other.push(data)).ready;
      await post(`${t.url}/api/publish`, { channel: room, data: 3 });
      await post(`${t.url}/api/publish`, { channel: `${room}-2`, data: 'x' });
      await waitUntil(() => got.length === 3 && other.length === 1, 5000, 'publications on both channels');
      assert.deepEqual(got.at(-1), 3);

      const forbidden = await client.publish('news', 'nope').then(
        () => assert.fail('publishing to news is for the server only'),
        (err: SwitchboardClientError) => err,
      );
      assert.ok(forbidden instanceof SwitchboardClientError);
      assert.equal(forbidden.code, 'forbidden');
    });
  }

  it('sse: a channel the node refuses fails its own subscription, and the others keep working', async () => {
    const client = await connect('sse');
    const got: unknown[] = [];
    await client.subscribe('news', (data) => got.push(data)).ready;
    const refused = client.subscribe('nowhere:1', () => {});
    await assert.rejects(refused.ready, (err: SwitchboardClientError) => err.code === 'not_found');
    await waitUntil(() => client.state === 'connected', 5000, 'the stream to reopen');
    await waitUntil(async () => (await post(`${t.url}/api/publish`, { channel: 'news', data: 'still here' })).body.subscribers > 0, 5000, 'news to be carried again');
    await waitUntil(() => got.includes('still here'), 5000, 'the publication');
  });

  it('long-poll: presence lists the members of a channel, and channels without presence answer not_found', async () => {
    const watcher = await connect('sse');
    await watcher.subscribe('chat:present', () => {}).ready;
    const client = await connect('long-poll');
    const members = await client.presence('chat:present');
    assert.equal(members.length, 1);
    assert.equal(members[0]!.session, watcher.session!.session);
    await assert.rejects(client.presence('news'), (err: SwitchboardClientError) => err.code === 'not_found');
  });
});
