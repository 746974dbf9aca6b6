import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphqlWsClient, run } from '../../helpers/graphql.js';
import { get, post, startNode, type TestNode } from '../../helpers/node.js';
import { startRedis, type Service } from '../../helpers/services.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

describe('two nodes on Redis', { skip: requireTool('redis-server') }, () => {
  let redis: Service;
  let a: TestNode;
  let b: TestNode;
  before(async () => {
    redis = await startRedis();
    const overrides = { 'broker.type': 'redis', 'broker.redis.url': redis.url, 'graphql.enabled': true, 'channels.namespaces': { news: { historySize: 10 } } };
    a = await startNode(overrides);
    b = await startNode(overrides);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  it('a GraphQL subscriber on node B gets what is published on node A, in order, and B lists it in the cluster-wide session API of A', async () => {
    const client = graphqlWsClient(b.wsUrl);
    try {
      const op = run(client, 'subscription { channel(name: "news:cluster") { offset data } }');
      await waitUntil(
        async () => (await get(`${a.url}/api/sessions`)).body.sessions?.some((s: any) => s.transport === 'graphql-ws' && s.channels.includes('news:cluster')),
        5000,
        'the session on B',
      );
      for (const data of ['first', 'second']) assert.equal((await post(`${a.url}/api/publish`, { channel: 'news:cluster', data })).status, 200);
      assert.deepEqual([await op.next(), await op.next()], [{ data: { channel: { offset: 1, data: 'first' } } }, { data: { channel: { offset: 2, data: 'second' } } }]);
    } finally {
      await client.dispose();
    }
  });
});
