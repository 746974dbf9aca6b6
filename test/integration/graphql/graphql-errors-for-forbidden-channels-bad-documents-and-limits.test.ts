import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphqlWsClient, run } from '../../helpers/graphql.js';
import { get, post, startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';
import { parseExposition } from '../../helpers/prometheus.js';

describe('GraphQL operations the node refuses', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({
      'graphql.enabled': true,
      'graphql.maxOperations': 3,
      'graphql.maxQueryBytes': 400,
      'sessions.maxSubscriptions': 2,
      'limits.maxConnections': 2,
      'channels.namespaces': { secret: { subscribe: 'server' }, news: {} },
    });
  });
  after(() => t.stop());

  const codeOf = (error: unknown) => (error as any[])?.[0]?.extensions?.code;

  it('a channel the client may not subscribe to is a GraphQL error forbidden', async () => {
    const client = graphqlWsClient(t.wsUrl);
    try {
      const op = run(client, 'subscription { channel(name: "secret:plans") { data } }');
      const result = await op.next();
      assert.equal(result.errors?.[0]?.extensions?.code, 'forbidden');
      assert.match(result.errors![0]!.message, /server API/);
      assert.equal(await op.ended, undefined);
    } finally {
      await client.dispose();
    }
  });

  it('an invalid document, an unknown field and a too long document are GraphQL errors', async () => {
    const client = graphqlWsClient(t.wsUrl);
    try {
      const syntax = await run(client, 'subscription { channel(name: "news:a") { data }').ended;
      assert.equal(codeOf(syntax), 'bad_request');
      assert.match((syntax as any[])[0].message, /Syntax Error/);
      const unknown = await run(client, 'subscription { channel(name: "news:a") { headline } }').ended;
      assert.equal(codeOf(unknown), 'bad_request');
      assert.match((unknown as any[])[0].message, /Cannot query field "headline"/);
      const long = await run(client, `subscription { channel(name: "news:${'a'.repeat(400)}") { data } }`).ended;
      assert.equal(codeOf(long), 'too_large');
      // The connection outlives its client's mistakes.
      const op = run(client, 'subscription { channel(name: "news:a") { data } }');
      op.stop();
    } finally {
      await client.dispose();
    }
  });

  it('subscriptions over the channel limit or the operation limit of a connection are GraphQL errors limit_exceeded', async () => {
    const client = graphqlWsClient(t.wsUrl);
    try {
      run(client, 'subscription { channel(name: "news:1") { data } }');
      run(client, 'subscription { channel(name: "news:2") { data } }');
      const overChannels = await run(client, 'subscription { channel(name: "news:3") { data } }').next();
      assert.equal(overChannels.errors?.[0]?.extensions?.code, 'limit_exceeded');
      assert.match(overChannels.errors![0]!.message, /at most 2 channels/);
      run(client, 'subscription { channel(name: "news:1") { offset } }');
      const overOperations = await run(client, 'subscription { channel(name: "news:1") { epoch } }').next();
      assert.equal(overOperations.errors?.[0]?.extensions?.code, 'limit_exceeded');
      assert.match(overOperations.errors![0]!.message, /at most 3 operations/);
      const metrics = parseExposition((await get(`${t.url}/metrics`)).text);
      assert.ok(metrics.value('switchboard_limit_hits_total', { limit: 'graphql_operations' }) >= 1);
    } finally {
      await client.dispose();
    }
  });

  it("a subscription on a connection over the node's connection limit fails, and the others go on", async () => {
    const clients = [graphqlWsClient(t.wsUrl), graphqlWsClient(t.wsUrl), graphqlWsClient(t.wsUrl)];
    try {
      const admitted = clients.slice(0, 2).map((client) => run(client, 'subscription { channel(name: "news:full") { data } }'));
      await waitUntil(async () => (await get(`${t.url}/api/sessions`)).body.sessions.length === 2, 5000, 'two sessions');
      const refused = await run(clients[2]!, 'subscription { channel(name: "news:full") { data } }').ended;
      assert.ok(refused !== undefined, 'the third connection ends in an error');
      await post(`${t.url}/api/publish`, { channel: 'news:full', data: 'still here' });
      for (const op of admitted) assert.equal((await op.next()).data.channel.data, 'still here');
      const metrics = parseExposition((await get(`${t.url}/metrics`)).text);
      assert.ok(metrics.value('switchboard_limit_hits_total', { limit: 'connections' }) >= 1);
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });
});
