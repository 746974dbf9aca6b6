import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { connectWs } from '../../helpers/clients.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { certificateDir, connectH2, httpsRequest, servedName, type Certificate } from '../../helpers/tls.js';
import { requireTool, tool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

/** An HTTP/2 request whose body is collected as text as it arrives. */
function h2Stream(session: ClientHttp2Session, path: string, headers: Record<string, string> = {}): { stream: ClientHttp2Stream; text: () => string; status: Promise<number> } {
  const stream = session.request({ ':path': path, ...headers });
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => (text += d));
  const status = new Promise<number>((resolve) => stream.once('response', (h) => resolve(Number(h[':status']))));
  return { stream, text: () => text, status };
}

async function h2Get(session: ClientHttp2Session, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { stream, text, status } = h2Stream(session, path, headers);
  stream.end();
  await new Promise((resolve) => stream.on('end', resolve));
  return { status: await status, body: text() };
}

async function h2Post(session: ClientHttp2Session, path: string, body: unknown): Promise<{ status: number; body: string }> {
  const { stream, text, status } = h2Stream(session, path, { ':method': 'POST', 'content-type': 'application/json' });
  stream.end(JSON.stringify(body));
  await new Promise((resolve) => stream.on('end', resolve));
  return { status: await status, body: text() };
}

describe('TLS: https and wss on one port, HTTP/2 by ALPN, certificates reloaded without dropping connections', { skip: requireTool('openssl') }, () => {
  const certs = certificateDir();
  let first: Certificate;
  let second: Certificate;
  let live: Certificate;
  let t: TestNode;
  let base: string;
  before(async () => {
    first = certs.make('first');
    second = certs.make('second');
    live = { cert: `${certs.dir}/live.crt`, key: `${certs.dir}/live.key` };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    t = await startNode({
      'server.tls.cert': live.cert,
      'server.tls.key': live.key,
      'server.tls.watchInterval': '100ms',
      'server.tls.handshakeTimeout': '500ms',
      'sessions.maxBufferedBytes': '64KiB',
      'sessions.closeGracePeriod': '500ms',
      'channels.namespaces': { feed: { historySize: 100 } },
    });
    base = `https://127.0.0.1:${t.node.port}`;
  });
  after(async () => {
    await t?.stop();
    certs.remove();
  });

  it('serves the API and the SDK over https (HTTP/1.1) and a WebSocket over wss', async () => {
    const ws = await connectWs(`wss://127.0.0.1:${t.node.port}/ws?channels=news`, { rejectUnauthorized: false });
    await ws.next((f) => f.type === 'subscribed');
    const published = await httpsRequest(`${base}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'news', data: 'secure' }),
    });
    assert.equal(published.status, 200);
    assert.equal((await ws.next((f) => f.type === 'message')).data, 'secure');
    const sdk = await httpsRequest(`${base}/client/index.js`);
    assert.equal(sdk.status, 200);
    assert.match(sdk.body, /SwitchboardClient/);
    ws.close();
  });

  it('speaks h2 to clients that offer it: SSE, long-poll, POST /frames and the API over one connection', async () => {
    const session = await connectH2(t.node.port);
    assert.equal((session.socket as tls.TLSSocket).alpnProtocol, 'h2');
    const sse = h2Stream(session, '/sse?channels=feed:h2');
    sse.stream.end();
    assert.equal(await sse.status, 200);
    await waitUntil(() => sse.text().includes('event: subscribed'), 5000, 'SSE subscribed over h2');
    const poll = await h2Get(session, '/poll?channels=feed:h2');
    assert.equal(poll.status, 200);
    const { cursor } = JSON.parse(poll.body) as { cursor: string };
    const held = h2Get(session, `/poll?channels=feed:h2&cursor=${encodeURIComponent(cursor)}`);
    const frames = await h2Post(session, '/frames', { type: 'ping', id: 1 });
    assert.equal(frames.status, 200);
    assert.deepEqual(JSON.parse(frames.body), [{ type: 'pong', id: 1 }]);
    const api = await h2Post(session, '/api/publish', { channel: 'feed:h2', data: 'over h2' });
    assert.equal(api.status, 200);
    await waitUntil(() => sse.text().includes('over h2'), 5000, 'SSE message over h2');
    const answer = await held;
    assert.equal(JSON.parse(answer.body).messages[0].data, 'over h2');
    sse.stream.close();
    session.close();
  });

  it('keeps twelve SSE streams open on one h2 connection, and each receives', async () => {
    const session = await connectH2(t.node.port);
    const streams = Array.from({ length: 12 }, (_, i) => {
      const s = h2Stream(session, `/sse?channels=twelve${i % 3 === 0 ? '' : `,other${i}`}`);
      s.stream.end();
      return s;
    });
    await waitUntil(() => streams.every((s) => s.text().includes('event: subscribed')), 10_000, 'twelve streams subscribed');
    await httpsRequest(`${base}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'twelve', data: 'to all twelve' }),
    });
    await waitUntil(() => streams.every((s) => s.text().includes('to all twelve')), 10_000, 'twelve streams received');
    session.close();
  });

  it('answers curl --http2 over h2', { skip: requireTool('curl') }, async () => {
    const { stdout } = await promisify(execFile)(tool('curl'), [
      '-sk',
      '--max-time',
      '10',
      '--http2',
      '-o',
      '/dev/null',
      '-w',
      '%{http_version} %{http_code}',
      `${base}/client/index.js`,
    ]);
    assert.equal(stdout, '2 200');
  });

  it('switches new connections to a replaced certificate while an open WebSocket keeps receiving', async () => {
    const ws = await connectWs(`wss://127.0.0.1:${t.node.port}/ws?channels=rotation`, { rejectUnauthorized: false });
    await ws.next((f) => f.type === 'subscribed');
    assert.equal(await servedName(t.node.port), 'first');
    copyFileSync(second.cert, live.cert);
    copyFileSync(second.key, live.key);
    await waitUntil(async () => (await servedName(t.node.port)) === 'second', 10_000, 'the new certificate is served');
    await httpsRequest(`${base}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'rotation', data: 'after rotation' }),
    });
    assert.equal((await ws.next((f) => f.type === 'message')).data, 'after rotation');
    ws.close();
  });

  it('drops a TLS handshake of garbage bytes and an h2 client that never reads, while others keep receiving', async () => {
    const ws = await connectWs(`wss://127.0.0.1:${t.node.port}/ws?channels=noisy`, { rejectUnauthorized: false });
    await ws.next((f) => f.type === 'subscribed');
    // A record that is no ClientHello is refused at once; a few bytes that never complete one, at server.tls.handshakeTimeout.
    for (const bytes of ['\x16\x03\x01\x00\x05garbage that is no ClientHello at all\r\n\r\n', '\x00\x01\x02']) {
      const garbage = net.connect(t.node.port, '127.0.0.1');
      garbage.on('error', () => {});
      garbage.resume();
      garbage.write(Buffer.from(bytes, 'latin1'));
      await new Promise((resolve) => garbage.on('close', resolve));
    }

    const stalled = await connectH2(t.node.port);
    const reader = stalled.request({ ':path': '/sse?channels=noisy' });
    reader.pause();
    reader.end();
    await waitUntil(() => t.node.hub.subscriberCount('noisy') === 2, 5000, 'the stalled stream opened');
    const data = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 40; i++) {
      await httpsRequest(`${base}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'noisy', data: `${i}:${data}` }),
      });
    }
    // The stalled stream is asked to close, and dropped after sessions.closeGracePeriod.
    await waitUntil(() => t.node.hub.subscriberCount('noisy') === 1, 10_000, 'the stalled h2 stream is dropped as a slow consumer');
    const last = await ws.next((f) => f.type === 'message' && String(f.data).startsWith('39:'), 10_000);
    assert.ok(last);
    ws.close();
    stalled.destroy();
  });
});
