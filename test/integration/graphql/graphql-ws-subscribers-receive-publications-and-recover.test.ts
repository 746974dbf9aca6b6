import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphqlWsClient, once, run } from '../../helpers/graphql.js';
import { request } from '../../helpers/http.js';
import { get, post, startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

const channelQuery = 'subscription($name: String!, $since: PositionInput) { channel(name: $name, since: $since) { channel offset epoch data } }';

describe('graphql-ws subscribers of a channel', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'graphql.enabled': true, 'channels.namespaces': { news: { historySize: 100 } } });
  });
  after(() => t.stop());

  const subscribers = async (channel: string) => (await get(`${t.url}/api/channels`)).body.channels?.find((c: any) => c.channel === channel)?.subscribers ?? 0;

  it('receive what is published over /api/publish, with its offset and epoch', async () => {
    const client = graphqlWsClient(t.wsUrl);
    try {
      const op = run(client, channelQuery, { name: 'news:world' });
      await waitUntil(async () => (await subscribers('news:world')) === 1, 5000, 'the subscription');
      const published = await post(`${t.url}/api/publish`, { channel: 'news:world', data: { title: 'hello' } });
      assert.equal(published.status, 200);
      const result = await op.next();
      assert.deepEqual(result, { data: { channel: { channel: 'news:world', offset: published.body.offset, epoch: published.body.epoch, data: { title: 'hello' } } } });
    } finally {
      await client.dispose();
    }
  });

  it('get what they missed after reconnecting with since, then live ones, each once', async () => {
    const first = graphqlWsClient(t.wsUrl);
    const op = run(first, channelQuery, { name: 'news:sport' });
    await waitUntil(async () => (await subscribers('news:sport')) === 1, 5000, 'the subscription');
    await post(`${t.url}/api/publish`, { channel: 'news:sport', data: 1 });
    const last = (await op.next()).data.channel;
    await first.dispose();
    await waitUntil(async () => (await subscribers('news:sport')) === 0, 5000, 'the first connection to end');
    for (const data of [2, 3]) await post(`${t.url}/api/publish`, { channel: 'news:sport', data });
    const second = graphqlWsClient(t.wsUrl);
    try {
      const resumed = run(second, channelQuery, { name: 'news:sport', since: { offset: last.offset, epoch: last.epoch } });
      assert.deepEqual([(await resumed.next()).data.channel.data, (await resumed.next()).data.channel.data], [2, 3]);
      await post(`${t.url}/api/publish`, { channel: 'news:sport', data: 4 });
      assert.equal((await resumed.next()).data.channel.data, 4);
      assert.equal(resumed.results.length, 3);
    } finally {
      await second.dispose();
    }
  });

  it('are told not_recovered when history no longer holds since, and go on live', async () => {
    const client = graphqlWsClient(t.wsUrl);
    try {
      const op = run(client, channelQuery, { name: 'news:old', since: { offset: 7, epoch: 'gone' } });
      const notice = await op.next();
      assert.equal(notice.data, null);
      assert.equal(notice.errors?.[0]?.extensions?.code, 'not_recovered');
      await post(`${t.url}/api/publish`, { channel: 'news:old', data: 'live' });
      assert.equal((await op.next()).data.channel.data, 'live');
    } finally {
      await client.dispose();
    }
  });

  it('are sessions of transport graphql-ws that the session API lists and disconnects', async () => {
    const client = graphqlWsClient(t.wsUrl, { connectionParams: {} });
    let closed: { code: number; reason: string } | undefined;
    client.on('closed', (event) => {
      const { code, reason } = event as { code: number; reason: string };
      closed = { code, reason };
    });
    try {
      const op = run(client, channelQuery, { name: 'news:listed' });
      await waitUntil(async () => (await subscribers('news:listed')) === 1, 5000, 'the subscription');
      const sessions = (await get(`${t.url}/api/sessions`)).body.sessions as any[];
      const session = sessions.find((s) => s.channels.includes('news:listed'));
      assert.equal(session?.transport, 'graphql-ws');
      const res = await request('DELETE', `${t.url}/api/sessions/${session.id}`, { body: { reason: 'bye' } });
      assert.equal(res.status, 200);
      await op.ended;
      await waitUntil(() => closed !== undefined, 5000, 'the close');
      assert.deepEqual(closed, { code: 4000, reason: 'bye' });
      await waitUntil(async () => (await get(`${t.url}/api/sessions/${session.id}`)).status === 404, 5000, 'the session to end');
    } finally {
      await client.dispose();
    }
  });

  it('answer history and presence queries and publish where the namespace lets them', async () => {
    const client = graphqlWsClient(t.wsUrl);
    try {
      await post(`${t.url}/api/publish`, { channel: 'news:archive', data: 'a' });
      await post(`${t.url}/api/publish`, { channel: 'news:archive', data: 'b' });
      const history = await once(client, 'query { history(channel: "news:archive", limit: 1) { offset publications { offset data } } }');
      assert.deepEqual(history, { data: { history: { offset: 2, publications: [{ offset: 2, data: 'b' }] } } });
      const refused = await once(client, 'mutation { publish(channel: "news:archive", data: {x: 1}) { offset } }');
      assert.equal(refused.errors?.[0]?.extensions?.code, 'forbidden');
    } finally {
      await client.dispose();
    }
  });
});
