import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, it } from 'node:test';
import { connectWs } from '../../helpers/clients.js';
import { assertErrorBody, request } from '../../helpers/http.js';
import { get, post, startNode } from '../../helpers/node.js';

/**
 * A WebSocket client that completes the handshake and then stops reading, so it never answers the
 * server's close: its session, and so the draining node, stay alive until the test drops it.
 */
async function stuckWebSocket(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve, reject) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      if (head.startsWith('HTTP/1.1 101')) resolve();
      else reject(new Error(`upgrade refused: ${head}`));
    };
    socket.on('data', onData);
  });
  return socket;
}

describe('health and readiness probes', () => {
  it('answers /healthz and /readyz with 200 while running, without an API key', async () => {
    const t = await startNode({ 'node.id': 'probe-node', 'api.insecure': false, 'api.keys': ['k'] });
    try {
      const health = await get(`${t.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok', node: 'probe-node' });
      const ready = await get(`${t.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { status: 'ready', node: 'probe-node' });
    } finally {
      await t.stop();
    }
  });

  it('turns not ready and refuses new connections as soon as draining starts, while the API keeps serving', async () => {
    const t = await startNode({ 'node.id': 'drain-node', 'shutdown.drainWindow': '1s', 'sessions.closeGracePeriod': '20s' });
    const ws = await connectWs(`${t.wsUrl}/ws?channels=d`);
    const stuck = await stuckWebSocket(t.node.port, '/ws?channels=d');
    try {
      await ws.next((f) => f.type === 'welcome');
      const drained = t.node.drain();

      const ready = await get(`${t.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { status: 'draining', node: 'drain-node' });
      assert.equal((await get(`${t.url}/healthz`)).status, 200);
      assert.equal((await get(`${t.url}/api/info`)).body.state, 'draining');

      await assert.rejects(connectWs(`${t.wsUrl}/ws?channels=d`), (err: Error & { status?: number; body?: string }) => {
        assert.equal(err.status, 503);
        assertErrorBody(JSON.parse(err.body!), 'unavailable');
        return true;
      });
      for (const path of ['/sse?channels=d', '/stream?channels=d']) {
        const res = await request('GET', `${t.url}${path}`);
        assert.equal(res.status, 503, path);
        assertErrorBody(res.body, 'unavailable');
      }
      assert.equal((await post(`${t.url}/api/publish`, { channel: 'd', data: 1 })).status, 200);

      // The well-behaved client is asked to reconnect within the window and closed with 4000.
      assert.equal((await ws.next((f) => f.type === 'reconnect')).reason, 'shutdown');
      assert.equal((await ws.closed).code, 4000);

      // The node waits for the stuck client; once it is gone the node stops.
      assert.equal((await get(`${t.url}/readyz`)).status, 503);
      stuck.destroy();
      await drained;
      await assert.rejects(get(`${t.url}/healthz`));
    } finally {
      ws.close();
      stuck.destroy();
      await t.stop();
    }
  });
});
