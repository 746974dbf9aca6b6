import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../../helpers/browser.js';
import { post, startNode, type TestNode } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';

const skip = requireTool('chromium');

/** test-artifacts/ at the repository root (the test runs from dist/test/e2e/browser/). */
const artifacts = new URL('../../../../test-artifacts/', import.meta.url);

describe('demo page in a browser', { skip }, () => {
  let t: TestNode;
  let browser: Browser;
  let page: Page;

  before(async () => {
    t = await startNode({ 'demo.enabled': true });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('connects, shows messages published over the API, publishes from the page and takes a screenshot', async () => {
    await page.goto(`${t.url}/`);
    await page.locator('#state[data-state="connected"]').waitFor({ timeout: 10_000 });
    // The default channel is confirmed by the server before anything is published.
    await page.locator('.chip[data-channel="news"]:not([data-pending])').waitFor({ timeout: 5_000 });

    // The command the page shows names the page's own host.
    const command = await page.locator('#curl-command').textContent();
    assert.ok(command?.includes(`${t.url}/api/publish`), `curl command should name ${t.url}: ${command}`);

    const published = await post(`${t.url}/api/publish`, { channel: 'news', data: { text: 'hello from the test' } });
    assert.deepEqual(published.body, { channel: 'news', subscribers: 1 });
    const first = page.locator('#messages li').first();
    await first.locator('.msg-data', { hasText: 'hello from the test' }).waitFor({ timeout: 5_000 });
    assert.equal(await first.locator('.msg-channel').textContent(), 'news');
    assert.match((await first.locator('.msg-time').textContent()) ?? '', /^\d\d:\d\d:\d\d\.\d{3}$/);

    // Subscribe to a second channel from the page; its messages appear newest first.
    await page.fill('#channel-input', 'sport');
    await page.click('#subscribe-form button[type="submit"]');
    await page.locator('.chip[data-channel="sport"]:not([data-pending])').waitFor({ timeout: 5_000 });
    await post(`${t.url}/api/publish`, { channel: 'sport', data: { score: [2, 1] } });
    await page.locator('#messages li').first().locator('.msg-channel', { hasText: 'sport' }).waitFor({ timeout: 5_000 });

    // Publish from the page itself through POST /api/publish.
    await page.fill('#publish-channel', 'news');
    await page.fill('#publish-data', '{"text": "sent from the page"}');
    await page.click('#publish-button');
    await page.locator('#messages li').first().locator('.msg-data', { hasText: 'sent from the page' }).waitFor({ timeout: 5_000 });
    await page.locator('#publish-result', { hasText: 'reached 1 subscriber' }).waitFor({ timeout: 5_000 });

    assert.equal(await page.locator('#messages li').count(), 3);

    // The chat room: the page's own session is present, and what it sends comes back through the channel.
    await page.locator('#chat-members', { hasText: '1 here' }).waitFor({ timeout: 5_000 });
    await page.fill('#chat-name', 'tester');
    await page.fill('#chat-text', 'hello room');
    await page.click('#chat-form button[type="submit"]');
    await page.locator('#chat-log li.chat-message', { hasText: 'hello room' }).waitFor({ timeout: 5_000 });
    await post(`${t.url}/api/publish`, { channel: 'chat:lobby', data: { name: 'backend', text: 'welcome' } });
    await page.locator('#chat-log li.chat-message', { hasText: 'welcome' }).waitFor({ timeout: 5_000 });

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: fileURLToPath(new URL('demo.png', artifacts)), fullPage: true });
  });

  it('shows the reconnecting state when the server closes the connection, then connects again', async () => {
    const [session] = [...t.node.registry.all()];
    assert.ok(session, 'the page should have a session');
    const res = await post(`${t.url}/api/sessions/${session.id}/disconnect`, { reason: 'test' });
    assert.equal(res.status, 200);
    await page.locator('#state[data-state="reconnecting"]').waitFor({ timeout: 5_000 });
    await page.locator('#state[data-state="connected"]').waitFor({ timeout: 10_000 });
    // Subscriptions are restored on the new connection.
    await page.locator('.chip[data-channel="sport"]:not([data-pending])').waitFor({ timeout: 5_000 });
    const published = await post(`${t.url}/api/publish`, { channel: 'sport', data: 'after reconnect' });
    assert.equal(published.body.subscribers, 1);
    await page.locator('#messages li').first().locator('.msg-data', { hasText: 'after reconnect' }).waitFor({ timeout: 5_000 });
  });
});
