import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { graphqlWsClient, run } from '../../helpers/graphql.js';
import { get, post, startNode, type TestNode } from '../../helpers/node.js';
import { parseExposition } from '../../helpers/prometheus.js';
import { waitUntil } from '../../helpers/wait.js';

const quoteType = `
type Quote { symbol: String! price: Float! venue: Venue tags: [String!] }
enum Venue { NYSE NASDAQ }
`;

describe('a namespace with a graphqlType', () => {
  let t: TestNode;
  before(async () => {
    t = await startNode({ 'graphql.enabled': true, 'channels.namespaces': { quotes: { graphqlType: quoteType } } });
  });
  after(() => t.stop());

  const mismatches = async () => parseExposition((await get(`${t.url}/metrics`)).text).value('switchboard_graphql_type_mismatches_total', { namespace: 'quotes' });

  it('has a subscription field of its own whose data clients select fields of; publications that do not match reach only native clients and are counted', async () => {
    const native = await connectWs(`${t.wsUrl}/ws?channels=quotes:acme`);
    const client = graphqlWsClient(t.wsUrl);
    try {
      const typed = run(client, 'subscription { quotes(name: "quotes:acme") { data { symbol price } } }');
      const untyped = run(client, 'subscription { channel(name: "quotes:acme") { data } }');
      await waitUntil(async () => (await get(`${t.url}/api/channels`)).body.channels?.find((c: any) => c.channel === 'quotes:acme')?.subscribers === 2, 5000, 'both subscriptions');
      await post(`${t.url}/api/publish`, { channel: 'quotes:acme', data: { symbol: 'ACME', price: 'expensive', venue: 'NYSE' } });
      await post(`${t.url}/api/publish`, { channel: 'quotes:acme', data: { symbol: 'ACME', price: 12.5, venue: 'NYSE', extra: true } });
      assert.deepEqual(await typed.next(), { data: { quotes: { data: { symbol: 'ACME', price: 12.5 } } } });
      assert.equal((await untyped.next()).data.channel.data.price, 'expensive');
      assert.equal((await untyped.next()).data.channel.data.price, 12.5);
      assert.equal((await native.next((f) => f.type === 'message')).data.price, 'expensive');
      assert.equal(typed.results.length, 1);
      assert.equal(await mismatches(), 1);
    } finally {
      native.close();
      await client.dispose();
    }
  });

  it('refuses a channel of another namespace on its field', async () => {
    const client = graphqlWsClient(t.wsUrl);
    try {
      const result = await run(client, 'subscription { quotes(name: "other") { data { symbol } } }').next();
      assert.equal(result.errors?.[0]?.extensions?.code, 'bad_request');
    } finally {
      await client.dispose();
    }
  });
});
