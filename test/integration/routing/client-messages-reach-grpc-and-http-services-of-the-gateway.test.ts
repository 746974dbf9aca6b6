import assert from 'node:assert/strict';
import { it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { startNode } from '../../helpers/node.js';
import { startGrpcUpstream, startHttpUpstream } from '../../helpers/upstreams.js';

it('routes client messages to a gateway service whose instances speak gRPC or HTTP, and answers backend_error when its instance is down', async (t) => {
  const grpcInstance = await startGrpcUpstream('grpc-1', async (call) => ({
    statusCode: 200,
    headers: { 'content-type': { values: ['application/json'] } },
    body: Buffer.from(JSON.stringify({ via: 'grpc', path: call.path, envelope: JSON.parse(call.body.toString()), messageId: call.headers['x-switchboard-message-id']?.values[0] })),
  }));
  const httpInstance = await startHttpUpstream('http-1', (req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ via: 'http', path: req.url, data: JSON.parse(body).data }));
    });
  });
  const node = await startNode({
    'gateway.enabled': true,
    'gateway.services': { carts: { instances: [{ id: 'g1', url: grpcInstance.url }] }, search: { instances: [{ id: 'h1', url: httpInstance.url }] } },
    'routing.backends': { carts: { service: 'carts', path: '/client-messages' }, search: { service: 'search', path: '/query' } },
    'routing.routes': [
      { key: 'cart.add', backend: 'carts' },
      { key: 'search', backend: 'search' },
    ],
  });
  const client = await connectWs(`${node.wsUrl}/ws`);
  t.after(async () => {
    client.close();
    await node.stop();
    await grpcInstance.kill();
    await httpInstance.kill();
  });

  client.send({ type: 'rpc', id: 1, method: 'cart.add', data: { sku: 'A-1' } });
  const viaGrpc = (await client.next((f) => f.type === 'reply' && f.id === 1)).data;
  assert.equal(viaGrpc.via, 'grpc');
  assert.equal(viaGrpc.path, '/client-messages');
  assert.deepEqual(viaGrpc.envelope.data, { sku: 'A-1' });
  assert.equal(viaGrpc.envelope.method, 'cart.add');
  assert.equal(viaGrpc.messageId, viaGrpc.envelope.id);

  client.send({ type: 'send', id: 2, data: { action: 'search', q: 'lamps' } });
  assert.deepEqual((await client.next((f) => f.type === 'reply' && f.id === 2)).data, { via: 'http', path: '/query', data: { action: 'search', q: 'lamps' } });

  await grpcInstance.kill();
  client.send({ type: 'rpc', id: 3, method: 'cart.add', data: {} });
  const down = await client.next((f) => f.type === 'reply' && f.id === 3, 10_000);
  // As the gateway answers a proxied request to a refused upstream: 502.
  assert.equal(down.error.code, 'backend_error', down.error.message);
  assert.match(down.error.message, /UNAVAILABLE/);
});

it('refuses a routing backend that names a gateway service while the gateway is off', async () => {
  await assert.rejects(startNode({ 'routing.backends': { carts: { service: 'carts' } }, 'routing.routes': [{ key: '$default', backend: 'carts' }] }), /gateway.enabled is false/);
});
