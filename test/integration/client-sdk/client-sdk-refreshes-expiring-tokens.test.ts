import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { SwitchboardClient, type DisconnectedEvent, type WebSocketConstructor } from '../../../src/client/index.js';
import { hmacToken } from '../../helpers/auth.js';
import { post, startProcess, type NodeProcess } from '../../helpers/node.js';
import { waitUntil } from '../../helpers/wait.js';

const secret = 'sdk-refresh-secret';
const graceMs = 600;

/**
 * Tokens that expired a moment ago, within auth.jwt.clockSkew, are accepted and their sessions
 * are at once asked to refresh: the flow without waiting for a real expiry.
 */
describe('the client SDK refreshes expiring tokens with getToken', () => {
  let node: NodeProcess;
  const clients: SwitchboardClient[] = [];
  before(async () => {
    node = await startProcess(['--api.insecure', 'true', '--auth.jwt.secrets', secret, '--auth.refreshGrace', `${graceMs}ms`, '--sessions.closeGracePeriod', '200ms']);
  });
  after(async () => {
    for (const client of clients) client.close();
    node.kill();
    await node.exited;
  });

  /** getToken hands out an expiring token first, then fresh ones, and counts its calls. */
  function tokens(user: string) {
    let calls = 0;
    return {
      get calls() {
        return calls;
      },
      getToken: async () => (++calls === 1 ? hmacToken(secret, { sub: user }, { expiresIn: -1 }) : hmacToken(secret, { sub: user }, { expiresIn: 3600 })),
    };
  }

  it("answers the server's refresh frame on a WebSocket with a new token, and the session stays open past the grace time", async () => {
    const source = tokens('ulla');
    const client = new SwitchboardClient(node.url, { getToken: source.getToken, WebSocket: WebSocket as unknown as WebSocketConstructor, tokenRefreshMargin: 0 });
    clients.push(client);
    const disconnects: DisconnectedEvent[] = [];
    client.on('disconnected', (e) => disconnects.push(e));
    const got: unknown[] = [];
    await client.connect();
    assert.equal(client.session?.user, 'ulla');
    const session = client.session?.session;
    await waitUntil(() => source.calls === 2, 3000, 'getToken to be called for the refresh');
    await new Promise((resolve) => setTimeout(resolve, graceMs + 400));
    await client.subscribe('news', (data) => got.push(data)).ready;
    await post(`${node.url}/api/publish`, { channel: 'news', data: 'still the same session' });
    await waitUntil(() => got.length === 1, 3000, 'the publication');
    assert.equal(client.session?.session, session);
    assert.deepEqual(disconnects, []);
  });

  it('on SSE, which the node closes when the token expires, fetches a new token before reconnecting', async () => {
    const source = tokens('vera');
    const client = new SwitchboardClient(node.url, { getToken: source.getToken, transports: ['sse'], minReconnectDelay: 50, tokenRefreshMargin: 0 });
    clients.push(client);
    const disconnects: DisconnectedEvent[] = [];
    client.on('disconnected', (e) => disconnects.push(e));
    const got: unknown[] = [];
    client.subscribe('news', (data) => got.push(data));
    await client.connect();
    await waitUntil(() => disconnects.length === 1 && client.state === 'connected', 5000, 'the expired session to be replaced');
    assert.equal(disconnects[0]!.code, 4005);
    assert.equal(source.calls, 2);
    await waitUntil(async () => (await post(`${node.url}/api/publish`, { channel: 'news', data: 'after the new token' })).body.subscribers > 0, 3000, 'the new session');
    await waitUntil(() => got.includes('after the new token'), 3000, 'the publication');
    assert.equal(client.session?.user, 'vera');
  });
});
