import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { bearer } from '../../helpers/auth.js';
import { launchChromium } from '../../helpers/browser.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { openConsole, saveScreenshot, showPage, signIn } from '../../helpers/console.js';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireTool('chromium');

const adminKey = 'console-topics-admin-key-0123456789';

describe('channels and topics in the admin console', { skip }, () => {
  let t: TestNode;
  let browser: Browser;
  let page: Page;
  let subscriber: WsClient | undefined;
  const api = (method: string, path: string, body?: unknown, key = adminKey) => request(method, `${t.url}${path}`, { headers: bearer(key), body });

  before(async () => {
    t = await startNode({
      'api.insecure': false,
      'api.keys': [adminKey],
      'admin.enabled': true,
      'admin.sampleInterval': '1s',
      'channels.namespaces.feed': { historySize: 20, historyTtl: '1h', presence: true },
    });
    browser = await launchChromium();
    page = await openConsole(browser, t.url);
    await signIn(page, adminKey);
  });

  after(async () => {
    subscriber?.close();
    await browser?.close();
    await t?.stop();
  });

  it('publishes to a channel from the page: a subscriber receives it, and the page follows the channel live', async () => {
    subscriber = await connectWs(`${t.wsUrl}/ws`);
    subscriber.send({ type: 'subscribe', id: 1, channel: 'feed:scores' });
    await subscriber.next((f) => f.type === 'subscribed');
    await api('POST', '/api/publish', { channel: 'feed:scores', data: { home: 1, away: 0 } });

    await showPage(page, 'Channels');
    await page.locator('#channels tr[data-channel="feed:scores"]').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'feed:scores' }).click();
    await page.locator('#history', { hasText: '"home": 1' }).waitFor();
    await page.locator('#presence li').first().waitFor();
    await page.getByRole('button', { name: 'Follow live' }).click();

    await page.fill('#publish-data', '{"home": 2, "away": 0}');
    await page.locator('#publish').click();
    const received = await subscriber.next((f) => f.type === 'message' && f.channel === 'feed:scores' && f.data.home === 2);
    assert.deepEqual(received.data, { home: 2, away: 0 });
    await page.locator('#channel-details .message.ok', { hasText: 'Published to feed:scores' }).waitFor();
    await page.locator('#live-messages li', { hasText: '"home":2' }).waitFor({ timeout: 5_000 });

    // Something published elsewhere shows up in the followed channel too.
    await api('POST', '/api/publish', { channel: 'feed:scores', data: { home: 2, away: 1 } });
    await page.locator('#live-messages li', { hasText: '"away":1' }).waitFor({ timeout: 5_000 });
    await saveScreenshot(page, 'channels');
  });

  it('replays a dead letter of a topic selected on the page: the subscription receives it again; a seek to now leaves nothing to pull', async () => {
    const created = await api('POST', '/api/topics/applications', { id: 'shop' });
    assert.equal(created.status, 201, created.text);
    for (const name of ['orders', 'orders-dead']) assert.equal((await api('POST', '/api/topics/shop/topics', { name })).status, 201);
    const sub = await api('POST', '/api/topics/shop/subscriptions', { name: 'billing', topic: 'orders', maxDeliveryAttempts: 1, deadLetterTopic: 'orders-dead' });
    assert.equal(sub.status, 201, sub.text);
    await api('POST', '/api/topics/shop/topics/orders/publish', { data: { order: 7 }, attributes: { kind: 'paid' } });
    const pull = () => api('POST', '/api/topics/shop/subscriptions/billing/pull', { maxMessages: 10, waitMs: 0 });
    const [first] = (await pull()).body.messages;
    assert.deepEqual(first.message.data, { order: 7 });
    await api('POST', '/api/topics/shop/subscriptions/billing/nack', { ackIds: [first.ackId] });
    // The next pull finds the message out of attempts and moves it to the dead-letter topic.
    await waitUntil(
      async () => (await pull()).body.messages.length === 0 && (await api('GET', '/api/topics/shop/subscriptions/billing/dead-letters')).body.messages.length === 1,
      5_000,
      'the message to be dead-lettered',
    );

    await showPage(page, 'Topics');
    const row = page.locator('tr[data-subscription="shop/billing"]');
    await row.waitFor({ timeout: 10_000 });
    await row.getByRole('button', { name: 'dead letters and seek of shop/billing' }).click();
    const letter = page.locator('#dead-letters tr[data-dead-letter]');
    await letter.waitFor();
    assert.match((await letter.textContent()) ?? '', /kind: paid/);
    assert.match((await letter.textContent()) ?? '', /sb-delivery-attempts/);
    await letter.getByRole('checkbox').check();
    await page.locator('#replay-selected').click();
    await page.locator('#dead-letters .message.ok', { hasText: 'Replayed 1 dead letter' }).waitFor({ timeout: 5_000 });
    await saveScreenshot(page, 'topics');

    const [again] = (await pull()).body.messages;
    assert.deepEqual(again?.message.data, { order: 7 });

    // Seeking to now counts everything before as acknowledged: nothing is left to pull.
    await page.locator('#seek').click();
    await page.locator('form[aria-label="seek billing"] .message.ok', { hasText: 'billing now delivers from' }).waitFor({ timeout: 5_000 });
    assert.deepEqual((await pull()).body.messages, []);
  });
});
