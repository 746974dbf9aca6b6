import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { graphqlWsClient, operate, ReviewBus, startGraphqlService, type GraphqlService } from '../../helpers/graphql-service.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { scrape } from '../../helpers/prometheus.js';
import { rawRequest, startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';
import { waitUntil } from '../../helpers/wait.js';

/** A GraphQL service of two instances behind a graphql route: HTTP and graphql-transport-ws, the route's auth, limits and errors. */
describe('gateway graphql routes', () => {
  let node: TestNode;
  let a: GraphqlService;
  let b: GraphqlService;
  let broken: HttpUpstream;
  let silent: WebSocketServer;
  const bus = new ReviewBus();
  const clients: { dispose(): void | Promise<void> }[] = [];

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${node.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
  };
  const ws = (path: string, options: Parameters<typeof graphqlWsClient>[1] = {}) => {
    const made = graphqlWsClient(`${node.wsUrl}${path}`, options);
    clients.push(made.client);
    return made;
  };

  before(async () => {
    a = await startGraphqlService('a', bus);
    b = await startGraphqlService('b', bus);
    broken = await startHttpUpstream('broken', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
    });
    // Speaks the subprotocol but never acknowledges a connection.
    silent = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (protocols) => [...protocols][0] ?? false });
    await once(silent, 'listening');
    node = await startNode({
      'gateway.enabled': true,
      'gateway.graphql.maxOperations': 3,
      'gateway.graphql.maxMessageBytes': 16 * 1024,
      'gateway.graphql.maxBufferedBytes': 64 * 1024,
      'gateway.services': {
        reviews: { instances: [a.url, b.url] },
        broken: { instances: [broken.url] },
        silent: { instances: [`http://127.0.0.1:${(silent.address() as AddressInfo).port}`] },
      },
      'gateway.routes': [
        { name: 'reviews', kind: 'graphql', service: 'reviews', path: '/reviews/graphql', rewrite: '/graphql' },
        { name: 'guarded', kind: 'graphql', service: 'reviews', path: '/guarded', rewrite: '/graphql', auth: 'api_key', apiKeys: ['reviews-key'] },
        { name: 'broken', kind: 'graphql', service: 'broken', path: '/broken' },
        { name: 'silent', kind: 'graphql', service: 'silent', path: '/silent', timeout: '300ms' },
        { name: 'limited', kind: 'graphql', service: 'reviews', path: '/limited', rewrite: '/graphql', rateLimit: { requests: 3, window: '1h' } },
      ],
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await node?.stop();
    await a?.kill();
    await b?.kill();
    await broken?.kill();
    for (const socket of silent?.clients ?? []) socket.terminate();
    silent?.close();
  });

  it('forwards a query and a mutation posted as JSON, and passes the service answer on', async () => {
    const query = await post('/reviews/graphql', { query: 'query Who { instance }', operationName: 'Who' });
    assert.equal(query.status, 200);
    assert.match(query.type!, /^application\/graphql-response\+json/);
    assert.ok(['a', 'b'].includes(query.body.data.instance));
    const mutation = await post('/reviews/graphql', { query: 'mutation ($s: Int!) { addReview(stars: $s) { stars } }', variables: { s: 4 } });
    assert.deepEqual(mutation.body, { data: { addReview: { stars: 4 } } });
    assert.equal(a.requests.at(-1)?.url ?? b.requests.at(-1)?.url, '/graphql');
    const invalid = await post('/reviews/graphql', { query: '{ nope }' });
    assert.equal(invalid.status, 400, "the service's own validation answer passes");
    assert.match(invalid.body.errors[0].message, /Cannot query field "nope"/);
  });

  it('forwards a query sent with GET, and the service refuses a mutation sent with GET', async () => {
    const res = await fetch(`${node.url}/reviews/graphql?query=${encodeURIComponent('{ instance }')}`);
    assert.equal(res.status, 200);
    assert.ok(['a', 'b'].includes(((await res.json()) as any).data.instance));
    const mutation = await fetch(`${node.url}/reviews/graphql?query=${encodeURIComponent('mutation { addReview(stars: 1) { id } }')}`);
    assert.equal(mutation.status, 405);
  });

  it('carries a query, a mutation and subscriptions over graphql-transport-ws with the graphql-ws client', async () => {
    const { client } = ws('/reviews/graphql', { connectionParams: { token: 't-1' } });
    const added = operate(client, { query: 'subscription { reviewAdded { stars instance } }' });
    const who = operate(client, { query: '{ instance token: connectionParam(name: "token") from: header(name: "x-forwarded-for") }' });
    const answer = await who.next();
    assert.equal(await who.ended, undefined, 'a query completes');
    assert.equal(answer.data!.token, 't-1', 'the client connection_init payload reaches the instance');
    assert.equal(answer.data!.from, '127.0.0.1', 'the handshake carries the forwarding headers');
    // Both subscription links are up before the mutation is made (a query has been answered on the other one).
    await waitUntil(() => a.activeOperations() + b.activeOperations() >= 1, 5000, 'the subscription reached an instance');
    const made = operate(client, { query: 'mutation { addReview(stars: 5) { stars } }' });
    assert.deepEqual((await made.next()).data, { addReview: { stars: 5 } });
    const event = await added.next();
    assert.equal((event.data!.reviewAdded as any).stars, 5);
    const countdown = operate(client, { query: 'subscription { countdown(from: 2) }' });
    assert.equal(await countdown.ended, undefined, 'a finite subscription completes');
    assert.deepEqual(
      countdown.results.map((r) => r.data!.countdown),
      [2, 1, 0],
    );
    added.stop();
    await waitUntil(() => a.activeOperations() + b.activeOperations() === 0, 5000, 'the completed subscription ended on its instance');
  });

  it('answers a syntax error itself and passes the service validation errors on', async () => {
    const { client } = ws('/reviews/graphql');
    const bad = await operate(client, { query: 'subscription {' }).ended;
    assert.match(bad![0]!.message, /Syntax Error/);
    const unknown = await operate(client, { query: 'subscription { nope }' }).ended;
    assert.match(unknown![0]!.message, /Cannot query field "nope" on type "Subscription"/);
  });

  it('refuses operations over gateway.graphql.maxOperations on one connection with limit_exceeded', async () => {
    const { client, closes } = ws('/reviews/graphql');
    const held = [0, 1, 2].map(() => operate(client, { query: 'subscription { reviewAdded { id } }' }));
    await waitUntil(() => a.activeOperations() + b.activeOperations() === 3, 5000, 'three subscriptions running');
    const over = await operate(client, { query: 'subscription { reviewAdded { id } }' }).ended;
    assert.equal(over![0]!.extensions?.code, 'limit_exceeded');
    held[0]!.stop();
    await waitUntil(() => a.activeOperations() + b.activeOperations() === 2, 5000, 'one ended');
    const again = operate(client, { query: '{ instance }' });
    assert.equal(await again.ended, undefined, 'a freed place is taken again');
    for (const op of held) op.stop();
    assert.deepEqual(closes, [], 'the socket stayed open');
    const scraped = await scrape(node.url);
    assert.ok(scraped.value('switchboard_limit_hits_total', { limit: 'subscriptions' }) >= 1);
  });

  it('closes a client socket whose message is over gateway.graphql.maxMessageBytes with 1009', async () => {
    const { client, closes } = ws('/reviews/graphql');
    const big = operate(client, { query: `{ instance ${'#'.repeat(20 * 1024)}\n }` });
    await big.ended;
    await waitUntil(() => closes.length > 0, 5000, 'the socket closed');
    assert.equal(closes[0], 1009);
    assert.ok((await scrape(node.url)).value('switchboard_limit_hits_total', { limit: 'frame_size' }) >= 1);
  });

  it('cuts a client socket that reads slower than its results come once gateway.graphql.maxBufferedBytes wait', async () => {
    const { client, closes, sockets } = ws('/reviews/graphql');
    const first = operate(client, { query: '{ instance }' });
    await first.ended;
    // The client stops reading; the instance streams on.
    (sockets[0] as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const flood = operate(client, { query: 'subscription { filler(size: 12000, count: 2000) }' });
    await waitUntil(async () => (await scrape(node.url)).value('switchboard_limit_hits_total', { limit: 'buffer' }) >= 1, 20_000, 'the buffer limit was hit');
    (sockets[0] as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitUntil(() => closes.length > 0, 20_000, 'the socket closed');
    await flood.ended;
    assert.ok(flood.results.length < 2000, 'the client got only part of the stream');
    assert.equal((await scrape(node.url)).value('switchboard_limit_hits_total', { limit: 'buffer' }), 1);
    await waitUntil(() => a.activeOperations() + b.activeOperations() === 0, 5000, 'the instance stopped streaming');
  });

  it('refuses a client without the route API key over HTTP and at the WebSocket handshake', async () => {
    const refused = await post('/guarded', { query: '{ instance }' });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, 'unauthorized');
    const handshake = await rawRequest('GET', `${node.url}/guarded`, {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-protocol': 'graphql-transport-ws',
    });
    assert.equal(handshake.status, 401);
    assert.equal(handshake.body.error.code, 'unauthorized');
    const allowed = await post('/guarded', { query: '{ instance key: header(name: "x-api-key") }' }, { 'x-api-key': 'reviews-key' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.data.key, null, 'the key is not passed on');
    const { client } = ws('/guarded', { headers: { 'x-api-key': 'reviews-key' } });
    const who = operate(client, { query: '{ instance key: header(name: "x-api-key") }' });
    assert.deepEqual(Object.keys((await who.next()).data!), ['instance', 'key']);
    assert.equal(who.results[0]!.data!.key, null);
  });

  it('counts the handshake and every operation against the route rate limit', async () => {
    const { client, closes } = ws('/limited');
    for (let i = 0; i < 2; i++) assert.equal(await operate(client, { query: '{ instance }' }).ended, undefined);
    const over = await operate(client, { query: '{ instance }' }).ended;
    assert.equal(over![0]!.extensions?.code, 'rate_limited');
    assert.match(over![0]!.message, /too many requests on route limited/);
    assert.deepEqual(closes, [], 'the socket stays open');
    assert.ok((await scrape(node.url)).value('switchboard_gateway_refused_total', { route: 'limited', reason: 'rate_limited' }) >= 1);
  });

  it('answers 502 backend_error when the service answers something that is not a GraphQL response', async () => {
    const res = await post('/broken', { query: '{ instance }' });
    assert.equal(res.status, 502);
    assert.equal(res.body.error.code, 'backend_error');
    assert.match(res.body.error.message, /answered 200 with text\/html, not a GraphQL response/);
    const { client, closes } = ws('/broken');
    const op = await operate(client, { query: '{ instance }' }).ended;
    assert.equal(op![0]!.extensions?.code, 'backend_error', 'an instance that does not speak graphql-transport-ws');
    assert.deepEqual(closes, []);
    const scraped = await scrape(node.url);
    assert.ok(
      scraped.value('switchboard_gateway_upstream_errors_total', { route: 'broken', service: 'broken', instance: `127.0.0.1:${broken.port}`, reason: 'bad_response' }) >= 2,
    );
    assert.ok(scraped.value('switchboard_gateway_refused_total', { route: 'broken', reason: 'bad_gateway' }) >= 2);
  });

  it('gives an operation timeout when the instance does not acknowledge within the route timeout, and forbidden when it refuses the connection_init', async () => {
    const { client, closes } = ws('/silent');
    const late = await operate(client, { query: '{ instance }' }).ended;
    assert.equal(late![0]!.extensions?.code, 'timeout');
    await waitUntil(() => silent.clients.size === 0, 5000, 'the gateway cut the unacknowledged connection');
    const refused = await operate(ws('/reviews/graphql', { connectionParams: { refuse: true } }).client, { query: '{ instance }' }).ended;
    assert.equal(refused![0]!.extensions?.code, 'forbidden');
    assert.deepEqual(closes, []);
  });

  it('counts GraphQL operations as requests of the route', async () => {
    const scraped = await scrape(node.url);
    const answered = scraped.samples.filter((s) => s.name === 'switchboard_gateway_requests_total' && s.labels.route === 'reviews' && s.labels.status === '2xx');
    assert.ok(answered.reduce((n, s) => n + s.value, 0) >= 8);
    assert.ok(scraped.samples.some((s) => s.name === 'switchboard_gateway_requests_total' && s.labels.route === 'reviews' && s.labels.status === '4xx'));
  });
});
