import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium, startPageServer } from '../../helpers/browser.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { certificateDir, httpsRequest } from '../../helpers/tls.js';
import { requireTool } from '../../helpers/tools.js';

const skip = requireTool('chromium', 'openssl');

interface TransportRun {
  transport: string;
  received: unknown;
  published: unknown;
  rpcError: string;
}

/** In the page: imports the SDK from the node, connects with one transport, receives, publishes and calls rpc over it or POST /frames. */
async function runTransport(page: Page, node: string, transport: string, channel: string): Promise<TransportRun> {
  return page.evaluate(
    async ({ node, transport, channel }) => {
      const { SwitchboardClient } = await import(`${node}/client/index.js`);
      const client = new SwitchboardClient(node, { transports: [transport], timeout: 5000 });
      await client.connect();
      const got: unknown[] = [];
      await client.subscribe(channel, (data: unknown) => got.push(data)).ready;
      (window as unknown as { ready: string[] }).ready = [...((window as unknown as { ready?: string[] }).ready ?? []), channel];
      const published = await client.publish(channel, { from: transport });
      const rpcError = await client.request('report.build', {}).then(
        () => 'answered',
        (err: { code: string }) => err.code,
      );
      const deadline = Date.now() + 5000;
      while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const result = { transport: client.session?.transport ?? 'none', received: got, published: typeof published.offset, rpcError };
      client.close();
      return result;
    },
    { node, transport, channel },
  );
}

describe('a page on another origin uses a node that allows it, and cannot use one that does not', { skip: requireTool('chromium') }, () => {
  let browser: Browser;
  let page: Page;
  let pages: Awaited<ReturnType<typeof startPageServer>>;
  let allowed: TestNode;
  let closed: TestNode;
  before(async () => {
    pages = await startPageServer();
    const namespaces = { room: { publish: 'public', historySize: 20 } };
    // A long-poll without channels is held this long before the client's first answer (its welcome).
    allowed = await startNode({ 'server.allowedOrigins': [pages.origin], 'channels.namespaces': namespaces, 'longPoll.timeout': '1s' });
    closed = await startNode({ 'channels.namespaces': namespaces });
    browser = await launchChromium({ ignoreCertificateErrors: true });
    page = await browser.newPage();
    await page.goto(`${pages.origin}/`);
  });
  after(async () => {
    await browser?.close();
    await allowed?.stop();
    await closed?.stop();
    await pages?.close();
  });

  it('imports the SDK from the node and works over WebSocket, then SSE, then long-poll, with rpc through the node', async () => {
    for (const transport of ['websocket', 'sse', 'long-poll']) {
      const channel = `room:${transport}`;
      const run = runTransport(page, allowed.url, transport, channel);
      // Published from the server once the page's subscription is confirmed.
      await page.waitForFunction((c) => ((window as unknown as { ready?: string[] }).ready ?? []).includes(c), channel, { timeout: 10_000 });
      await post(`${allowed.url}/api/publish`, { channel, data: { from: 'server' } });
      const result = await run;
      assert.equal(result.transport, transport);
      assert.equal(result.published, 'number', `${transport}: the page published`);
      assert.equal(result.rpcError, 'not_found', `${transport}: rpc reached the node, which has no route for it`);
      assert.deepEqual(new Set((result.received as object[]).map((d) => JSON.stringify(d))), new Set([JSON.stringify({ from: transport }), JSON.stringify({ from: 'server' })]));
    }
  });

  it('cannot load the SDK, open SSE or poll from a node that does not list the origin, and its WebSocket is refused with 403', async () => {
    const outcome = await page.evaluate(async (node) => {
      const sdk = await import(`${node}/client/index.js`).then(
        () => 'loaded',
        (err: Error) => err.message,
      );
      const poll = await fetch(`${node}/poll?channels=room:x`).then(
        () => 'answered',
        (err: Error) => err.message,
      );
      const sse = await new Promise<string>((resolve) => {
        const source = new EventSource(`${node}/sse?channels=news`);
        source.addEventListener('welcome', () => resolve('welcome'));
        source.onerror = () => {
          source.close();
          resolve('error');
        };
      });
      return { sdk, poll, sse };
    }, closed.url);
    assert.match(outcome.sdk, /Failed to fetch dynamically imported module/);
    assert.equal(outcome.poll, 'Failed to fetch');
    assert.equal(outcome.sse, 'error');
    const upgrade = page.waitForEvent('websocket').then((ws) => new Promise<string>((resolve) => ws.on('socketerror', (e) => resolve(String(e)))));
    await page.evaluate((node) => void new WebSocket(`${node.replace('http', 'ws')}/ws`), closed.url);
    assert.match(await upgrade, /403/);
  });
});

describe('a page holds twelve SSE streams to one node over HTTP/2', { skip }, () => {
  const certs = certificateDir();
  let browser: Browser;
  let page: Page;
  let pages: Awaited<ReturnType<typeof startPageServer>>;
  let node: TestNode;
  let base: string;
  before(async () => {
    pages = await startPageServer();
    const cert = certs.make('h2');
    node = await startNode({ 'server.allowedOrigins': [pages.origin], 'server.tls.cert': cert.cert, 'server.tls.key': cert.key });
    base = `https://127.0.0.1:${node.node.port}`;
    browser = await launchChromium({ ignoreCertificateErrors: true });
    page = await browser.newPage();
    await page.goto(`${pages.origin}/`);
  });
  after(async () => {
    await browser?.close();
    await node?.stop();
    await pages?.close();
    certs.remove();
  });

  it('opens twelve EventSources, all of which receive a publication over h2 (HTTP/1.1 would stop at six)', async () => {
    const cdp = await page.context().newCDPSession(page);
    const protocols: string[] = [];
    cdp.on('Network.responseReceived', (event) => {
      if (event.response.url.includes('/sse?')) protocols.push(String(event.response.protocol));
    });
    await cdp.send('Network.enable');
    await page.evaluate((base) => {
      const w = window as unknown as { got: number[]; open: number };
      w.got = [];
      w.open = 0;
      for (let i = 0; i < 12; i++) {
        const source = new EventSource(`${base}/sse?channels=many`);
        source.addEventListener('subscribed', () => (w.open += 1));
        source.addEventListener('message', (e) => {
          if ((e as MessageEvent).data.includes('to twelve')) w.got.push(i);
        });
      }
    }, base);
    await page.waitForFunction(() => (window as unknown as { open: number }).open === 12, undefined, { timeout: 10_000 });
    await httpsRequest(`${base}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'many', data: 'to twelve' }) });
    await page.waitForFunction(() => (window as unknown as { got: number[] }).got.length === 12, undefined, { timeout: 10_000 });
    assert.deepEqual(protocols, Array(12).fill('h2'));
  });
});
