import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../helpers/browser.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { fastCluster, killAll, wsUrl } from '../../helpers/cluster.js';
import { openConsole, saveScreenshot, showPage, signIn } from '../../helpers/console.js';
import { get, startProcess, type NodeProcess } from '../../helpers/node.js';
import { startRedis, type Service } from '../../helpers/services.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireTool('chromium', 'redis-server');

const adminKey = 'console-cluster-admin-key-0123456789';

describe('the admin console of a two-node Redis cluster', { skip }, () => {
  let redis: Service;
  let nodes: NodeProcess[] = [];
  let ids: string[] = [];
  let browser: Browser;
  let page: Page;
  let client: WsClient | undefined;

  before(async () => {
    redis = await startRedis();
    const args = ['--broker.type', 'redis', '--broker.redis.url', redis.url, ...fastCluster, '--api.keys', adminKey, '--admin.enabled', 'true', '--admin.sampleInterval', '1s'];
    nodes = await Promise.all([startProcess(args), startProcess(args)]);
    const headers = { authorization: `Bearer ${adminKey}` };
    ids = await Promise.all(nodes.map(async (node) => (await get(`${node.url}/api/info`, headers)).body.node as string));
    const listed = () => Promise.all(nodes.map(async (node) => (await get(`${node.url}/api/nodes`, headers)).body?.nodes?.length));
    await waitUntil(async () => (await listed()).every((count) => count === 2), 5_000, 'both nodes to list each other');
    browser = await launchChromium();
    page = await openConsole(browser, nodes[0]!.url);
    await signIn(page, adminKey);
  });

  after(async () => {
    client?.close();
    await browser?.close();
    killAll(nodes);
    await redis?.stop();
  });

  it('lists both nodes on the overview with their version, uptime, connections and broker, and charts the last minutes live', async () => {
    for (const id of ids) await page.locator(`#nodes .node[data-node="${id}"]`).waitFor({ timeout: 10_000 });
    const other = page.locator(`#nodes .node[data-node="${ids[1]}"]`);
    assert.match((await other.textContent()) ?? '', /version0\.1\.0/);
    assert.match((await other.textContent()) ?? '', /redis connected/);
    for (const chart of ['connections', 'publications', 'deliveries', 'errors']) await page.locator(`#chart-${chart} canvas`).waitFor();
    // A client connecting to the other node shows in its card without a reload.
    client = await connectWs(`${wsUrl(nodes[1]!)}/ws`);
    await client.next((f) => f.type === 'welcome');
    await other.locator('.connections', { hasText: /^1$/ }).waitFor({ timeout: 10_000 });
    await saveScreenshot(page, 'overview');
  });

  it('stays readable in a narrow window: nothing is wider than the screen', async () => {
    const narrow = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await narrow.goto(`${nodes[0]!.url}/admin/`);
    // The same tab's sessionStorage is not shared with a new page: sign in again.
    await signIn(narrow, adminKey);
    await narrow.locator(`#nodes .node[data-node="${ids[1]}"]`).waitFor({ timeout: 10_000 });
    const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the window`);
    await saveScreenshot(narrow, 'overview-narrow');
    await narrow.close();
  });

  it('finds the session on the other node by filter and disconnects it: the client gets the close code chosen', async () => {
    client ??= await connectWs(`${wsUrl(nodes[1]!)}/ws`);
    client.send({ type: 'subscribe', id: 1, channel: 'news' });
    await client.next((f) => f.type === 'subscribed');
    const session = client.inbox.all.find((f) => f.type === 'welcome').session as string;
    await showPage(page, 'Connections');
    await page.fill('#filter-node', ids[1]!);
    await page.fill('#filter-channel', 'news');
    await page.getByRole('button', { name: 'Filter' }).click();
    const row = page.locator(`#sessions tr[data-session="${session}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#sessions tbody tr').count(), 1);
    await page.getByRole('button', { name: `details of session ${session}` }).click();
    await page.locator('#session-details', { hasText: 'news' }).waitFor();
    await saveScreenshot(page, 'connections');
    await page.selectOption('#close-code', '4500');
    await page.fill('#close-reason', 'moved by the operator');
    await page.locator('#disconnect').click();
    const closed = await client.closed;
    assert.deepEqual(closed, { code: 4500, reason: 'moved by the operator' });
    await page.locator('#session-details .message.ok', { hasText: `Session ${session} was disconnected with close code 4500` }).waitFor();
    // The list follows $admin:sessions: the session leaves it without a reload.
    await row.waitFor({ state: 'detached', timeout: 10_000 });
  });
});
