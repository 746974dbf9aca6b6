import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { SwitchboardClient, SwitchboardClientError, type WebSocketConstructor } from '../../../src/client/index.js';
import { startProcess, type NodeProcess } from '../../helpers/node.js';

const Socket = WebSocket as unknown as WebSocketConstructor;

describe('client SDK requests', () => {
  let node: NodeProcess;
  /** A WebSocket server that welcomes every session and never answers a frame. */
  let silent: WebSocketServer;
  const received: unknown[] = [];
  const clients: SwitchboardClient[] = [];

  before(async () => {
    node = await startProcess(['--api.insecure', 'true']);
    silent = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
    silent.on('connection', (ws) => {
      ws.send(JSON.stringify({ type: 'welcome', session: 's1', user: '', node: 'silent', heartbeat: 30000, channels: [] }));
      ws.on('message', (data) => received.push(JSON.parse(String(data))));
    });
    await new Promise((resolve) => silent.once('listening', resolve));
  });
  after(async () => {
    for (const client of clients) client.close();
    for (const ws of silent.clients) ws.terminate();
    await new Promise((resolve) => silent.close(resolve));
    node.kill();
    await node.exited;
  });

  it('reject with a timeout error when no reply comes in time, and forget the request', async () => {
    const { port } = silent.address() as AddressInfo;
    const client = new SwitchboardClient(`http://127.0.0.1:${port}`, { WebSocket: Socket });
    clients.push(client);
    await client.connect();
    const started = Date.now();
    await assert.rejects(client.request('orders.get', { id: 7 }, { timeout: 300 }), (err: SwitchboardClientError) => {
      assert.ok(err instanceof SwitchboardClientError);
      assert.equal(err.code, 'timeout');
      return true;
    });
    assert.ok(Date.now() - started >= 290, 'not before the timeout');
    assert.deepEqual(received.at(-1), { type: 'rpc', id: (received.at(-1) as { id: number }).id, method: 'orders.get', data: { id: 7 } });
  });

  it('reject with the error code of the reply when the node refuses them', async () => {
    const client = new SwitchboardClient(node.url, { WebSocket: Socket });
    clients.push(client);
    await client.connect();
    await assert.rejects(client.request('orders.get'), (err: SwitchboardClientError) => err instanceof SwitchboardClientError && err.code === 'not_found');
    await assert.rejects(client.send({ hello: 1 }), (err: SwitchboardClientError) => err.code === 'not_found');
    await assert.rejects(client.publish('news', 1), (err: SwitchboardClientError) => err.code === 'forbidden');
    await assert.rejects(client.presence('news'), (err: SwitchboardClientError) => err.code === 'not_found');
  });

  it('wait for the connection when made before it, and reject with closed after close()', async () => {
    const client = new SwitchboardClient(node.url, { WebSocket: Socket });
    clients.push(client);
    const early = client.request('early');
    await client.connect();
    await assert.rejects(early, (err: SwitchboardClientError) => err.code === 'not_found');
    client.close();
    await assert.rejects(client.request('late'), (err: SwitchboardClientError) => err.code === 'closed');
  });
});
