import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { ReviewBus, startGraphqlService, type GraphqlService } from '../../helpers/graphql-service.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

const initTimeout = 300;
const keepAlive = 200;

interface Peer {
  socket: WebSocket;
  messages: { type: string; id?: string; payload?: unknown }[];
  closed: Promise<number>;
}

/** A graphql-transport-ws client written by hand, so it can stay silent or ignore pings. */
async function connect(url: string, options: { autoPong?: boolean } = {}): Promise<Peer> {
  const socket = new WebSocket(url, 'graphql-transport-ws', { autoPong: options.autoPong ?? true });
  const messages: Peer['messages'] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  const closed = once(socket, 'close').then(([code]) => code as number);
  await once(socket, 'open');
  return { socket, messages, closed };
}

const closedWithin = (peer: Peer, ms: number) => Promise.race([peer.closed, sleep(ms).then(() => undefined)]);

describe('the sockets of a gateway graphql route', () => {
  let node: TestNode;
  let service: GraphqlService;
  // Acknowledges every connection_init but never answers a ping.
  let deaf: WebSocketServer;
  const peers: Peer[] = [];
  const open = async (path: string, options?: { autoPong?: boolean }) => {
    const peer = await connect(`${node.wsUrl}${path}`, options);
    peers.push(peer);
    return peer;
  };
  const init = async (peer: Peer) => {
    peer.socket.send(JSON.stringify({ type: 'connection_init' }));
    await waitUntil(() => peer.messages.some((m) => m.type === 'connection_ack'), 5000, 'connection_ack');
  };

  before(async () => {
    service = await startGraphqlService('a', new ReviewBus());
    deaf = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false, handleProtocols: (protocols) => [...protocols][0] ?? false });
    deaf.on('connection', (socket) => {
      socket.on('message', (data) => {
        if (JSON.parse(data.toString()).type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
      });
    });
    await once(deaf, 'listening');
    node = await startNode({
      'gateway.enabled': true,
      'gateway.graphql.connectionInitTimeout': `${initTimeout}ms`,
      'gateway.graphql.keepAlive': `${keepAlive}ms`,
      'gateway.services': {
        reviews: { instances: [service.url] },
        deaf: { instances: [`http://127.0.0.1:${(deaf.address() as AddressInfo).port}`] },
      },
      'gateway.routes': [
        { name: 'reviews', kind: 'graphql', service: 'reviews', path: '/reviews/graphql', rewrite: '/graphql' },
        { name: 'deaf', kind: 'graphql', service: 'deaf', path: '/deaf' },
      ],
    });
  });
  after(async () => {
    for (const peer of peers) peer.socket.terminate();
    await node?.stop();
    await service?.kill();
    for (const socket of deaf?.clients ?? []) socket.terminate();
    deaf?.close();
  });

  it('closes a client that sends no connection_init within connectionInitTimeout with 4408', async () => {
    const silent = await open('/reviews/graphql');
    assert.equal(await closedWithin(silent, initTimeout * 10), 4408);
  });

  it('keeps a client that sent connection_init in time and answers pings open for many ping intervals', async () => {
    const client = await open('/reviews/graphql');
    await init(client);
    assert.equal(await closedWithin(client, keepAlive * 6), undefined);
    client.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ instance }' } }));
    await waitUntil(() => client.messages.some((m) => m.type === 'complete' && m.id === '1'), 5000, 'the query to complete');
    assert.deepEqual(client.messages.find((m) => m.type === 'next')?.payload, { data: { instance: 'a' } });
  });

  it('drops a client that stops answering pings after about two intervals', async () => {
    const client = await open('/reviews/graphql', { autoPong: false });
    await init(client);
    // A terminated socket closes without a close frame: 1006 on the client.
    assert.equal(await closedWithin(client, keepAlive * 10), 1006);
  });

  it('drops the connection to an instance that stops answering pings, and ends the operations on it with an error', async () => {
    const client = await open('/deaf');
    await init(client);
    client.socket.send(JSON.stringify({ id: 'sub', type: 'subscribe', payload: { query: 'subscription { reviews { stars } }' } }));
    const errorOf = () => client.messages.find((m) => m.type === 'error' && m.id === 'sub');
    await waitUntil(() => errorOf() !== undefined, keepAlive * 15, 'the operation on the dropped instance to end').catch(() => {});
    const error = errorOf();
    assert.ok(error, 'the operation on the dropped instance ends with an error');
    assert.equal((error.payload as { extensions?: { code?: string } }[])[0]?.extensions?.code, 'backend_error');
    assert.equal(await closedWithin(client, 50), undefined, 'the client socket stays open');
  });
});
