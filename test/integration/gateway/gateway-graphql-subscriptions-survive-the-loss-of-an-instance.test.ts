import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphqlWsClient, operate, ReviewBus, startGraphqlService, type GraphqlService, type Operation } from '../../helpers/graphql-service.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { waitUntil } from '../../helpers/wait.js';

/** Killing one of two instances ends only the GraphQL operations on it; the client's socket and the other operations carry on. */
describe('gateway graphql subscriptions when an instance is lost', () => {
  let node: TestNode;
  let a: GraphqlService;
  let b: GraphqlService;
  let revived: GraphqlService | undefined;
  const bus = new ReviewBus();
  let dispose: () => void | Promise<void> = () => {};

  before(async () => {
    a = await startGraphqlService('a', bus);
    b = await startGraphqlService('b', bus);
    node = await startNode({
      'gateway.enabled': true,
      'gateway.services': { reviews: { instances: [a.url, b.url] } },
      'gateway.routes': [{ name: 'reviews', kind: 'graphql', service: 'reviews', path: '/graphql' }],
    });
  });
  after(async () => {
    await dispose();
    await node?.stop();
    await a?.kill();
    await b?.kill();
    await revived?.kill();
  });

  it('errors the operations on the lost instance only, keeps the socket, and sends new ones to the live instance', async () => {
    const { client, closes } = graphqlWsClient(`${node.wsUrl}/graphql`);
    dispose = () => client.dispose();
    const subscriptions: Operation[] = [];
    for (let i = 0; i < 4; i++) subscriptions.push(operate(client, { query: 'subscription { reviewAdded { id instance } }' }));
    await waitUntil(() => a.activeOperations() === 2 && b.activeOperations() === 2, 5000, 'two subscriptions on each instance');
    bus.add(3);
    const first = await Promise.all(subscriptions.map((s) => s.next()));
    const on = first.map((r) => (r.data!.reviewAdded as { instance: string }).instance);
    assert.deepEqual([...on].sort(), ['a', 'a', 'b', 'b'], 'the balancer spread them over both instances');

    await a.kill();
    const onA = subscriptions.filter((_, i) => on[i] === 'a');
    const onB = subscriptions.filter((_, i) => on[i] === 'b');
    for (const lost of onA) {
      const errors = await lost.ended;
      assert.equal(errors?.[0]?.extensions?.code, 'backend_error');
      assert.match(errors![0]!.message, /connection to instance 127\.0\.0\.1:\d+ of service reviews was lost/);
    }
    bus.add(4);
    for (const kept of onB) assert.deepEqual((await kept.next()).data, { reviewAdded: { id: '2', instance: 'b' } }, 'the other instance keeps delivering');

    const fresh = operate(client, { query: 'subscription { reviewAdded { id instance } }' });
    const query = operate(client, { query: '{ instance }' });
    assert.deepEqual((await query.next()).data, { instance: 'b' });
    await waitUntil(() => b.activeOperations() === 3, 5000, 'the new subscription reached the live instance');
    bus.add(5);
    assert.deepEqual((await fresh.next()).data, { reviewAdded: { id: '3', instance: 'b' } });
    for (const kept of onB) assert.equal(((await kept.next()).data!.reviewAdded as { id: string }).id, '3');
    assert.deepEqual(closes, [], "the client's socket stayed open throughout");

    // The instance comes back on its address: a later operation opens a new link to it.
    revived = await startGraphqlService('a-again', bus, a.port);
    const answeredBy = new Set<string>();
    for (let i = 0; i < 6 && !answeredBy.has('a-again'); i++) answeredBy.add((await operate(client, { query: '{ instance }' }).next()).data!.instance as string);
    assert.ok(answeredBy.has('a-again'), 'the revived instance serves again over a new link');
    assert.deepEqual(closes, []);

    const scraped = await scrape(node.url);
    assert.equal(scraped.value('switchboard_gateway_upstream_errors_total', { route: 'reviews', service: 'reviews', instance: `127.0.0.1:${a.port}`, reason: 'reset' }), 1);
    assert.ok(scraped.value('switchboard_errors_total', { code: 'backend_error' }) >= 2);
  });
});
