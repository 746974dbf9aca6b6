import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Browser } from 'playwright-core';
import { launchChromium } from '../../helpers/browser.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';

const skip = requireTool('chromium');

/** A real HTTP proxy in front of a node that refuses every WebSocket upgrade, as some corporate proxies do. */
async function startUpgradeRefusingProxy(target: string): Promise<{ url: string; stop(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const server = http.createServer((req, res) => {
    const upstream = http.request({ host: hostname, port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('demo page: restarts and blocked WebSockets', { skip }, () => {
  let t: TestNode;
  let browser: Browser;

  before(async () => {
    t = await startNode({ 'demo.enabled': true });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('keeps working across a gateway restart: reconnects, resubscribes, and shows new messages', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.url}/`);
    await page.locator('#state[data-state="connected"][data-transport="websocket"]').waitFor({ timeout: 10_000 });
    await page.locator('.chip[data-channel="news"]:not([data-pending])').waitFor({ timeout: 5_000 });
    await post(`${t.url}/api/publish`, { channel: 'news', data: 'before the restart' });
    await page.locator('#messages .msg-data', { hasText: 'before the restart' }).waitFor({ timeout: 5_000 });
    await post(`${t.url}/api/publish`, { channel: 'chat:lobby', data: { name: 'backend', text: 'first words' } });
    await page.locator('#chat-log li.chat-message', { hasText: 'first words' }).waitFor({ timeout: 5_000 });

    const port = t.node.port;
    await t.stop();
    await page.locator('#state[data-state="reconnecting"]').waitFor({ timeout: 5_000 });
    t = await startNode({ 'demo.enabled': true, 'server.port': port });

    await page.locator('#state[data-state="connected"]').waitFor({ timeout: 20_000 });
    await page.locator('.chip[data-channel="news"]:not([data-pending])').waitFor({ timeout: 5_000 });
    const published = await post(`${t.url}/api/publish`, { channel: 'news', data: 'after the restart' });
    assert.equal(published.body.subscribers, 1);
    await page.locator('#messages .msg-data', { hasText: 'after the restart' }).waitFor({ timeout: 5_000 });
    // The in-memory broker lost the chat history with the process: the page says so instead of pretending.
    await page.locator('#chat-log .chat-note', { hasText: 'history could not fill the gap' }).waitFor({ timeout: 5_000 });
    await post(`${t.url}/api/publish`, { channel: 'chat:lobby', data: { name: 'backend', text: 'still chatting' } });
    await page.locator('#chat-log li.chat-message', { hasText: 'still chatting' }).waitFor({ timeout: 5_000 });
    await page.close();
  });

  it('falls back to SSE when WebSocket upgrades are refused, and chats over POST /frames', async () => {
    const proxy = await startUpgradeRefusingProxy(t.url);
    try {
      const page = await browser.newPage();
      await page.goto(`${proxy.url}/`);
      await page.locator('#state[data-state="connected"][data-transport="sse"]').waitFor({ timeout: 15_000 });
      await page.locator('.chip[data-channel="news"]:not([data-pending])').waitFor({ timeout: 5_000 });
      await post(`${t.url}/api/publish`, { channel: 'news', data: 'over sse' });
      await page.locator('#messages .msg-data', { hasText: 'over sse' }).waitFor({ timeout: 5_000 });
      await page.fill('#chat-text', 'typed behind the proxy');
      await page.click('#chat-form button[type="submit"]');
      await page.locator('#chat-log li.chat-message', { hasText: 'typed behind the proxy' }).waitFor({ timeout: 5_000 });
      const sessions = [...t.node.registry.all()].map((s) => s.format);
      assert.ok(sessions.length > 0);
      await page.close();
    } finally {
      await proxy.stop();
    }
  });
});
