import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../helpers/browser.js';
import { openConsole, saveScreenshot, showPage, signIn } from '../../helpers/console.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';
import { startHttpUpstream, type HttpUpstream } from '../../helpers/upstreams.js';

const skip = requireTool('chromium');

const adminKey = 'console-gateway-admin-key-0123456789';

describe('routing and the gateway in the admin console', { skip }, () => {
  let t: TestNode;
  let upstreams: HttpUpstream[] = [];
  let browser: Browser;
  let page: Page;

  before(async () => {
    upstreams = await Promise.all(['catalog-a', 'catalog-b'].map((name) => startHttpUpstream(name)));
    t = await startNode({
      'api.insecure': false,
      'api.keys': [adminKey],
      'admin.enabled': true,
      'admin.sampleInterval': '1s',
      'gateway.enabled': true,
      'gateway.health.interval': '200ms',
      'gateway.health.fall': 2,
      'gateway.services': { catalog: { instances: upstreams.map((u) => ({ id: u.name, url: u.url })), check: { type: 'http', path: '/' } } },
      'gateway.routes': [{ name: 'catalog', service: 'catalog', path: '/catalog' }],
      'routing.backends': { orders: upstreams[0]!.url },
      'routing.routes': [{ name: 'orders', key: 'orders', backend: 'orders' }],
    });
    browser = await launchChromium();
    page = await openConsole(browser, t.url);
    await signIn(page, adminKey);
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
    await Promise.all(upstreams.map((u) => u.kill().catch(() => {})));
  });

  it('lists the routes with their backends and circuit breakers', async () => {
    await showPage(page, 'Routing');
    await page.locator('#routes tr[data-route="orders"]').waitFor({ timeout: 10_000 });
    const backend = page.locator('#backends tr[data-backend="orders"]');
    await backend.waitFor();
    assert.match((await backend.textContent()) ?? '', /closed/);
    await saveScreenshot(page, 'routing');
  });

  it('shows a gateway instance turn unhealthy, without a reload, after it stops', async () => {
    await showPage(page, 'Gateway');
    const state = (id: string) => page.locator(`[data-service="catalog"] tr[data-instance="${id}"] .instance-state`);
    await state('catalog-a')
      .filter({ hasText: /^healthy$/ })
      .waitFor({ timeout: 10_000 });
    await state('catalog-b')
      .filter({ hasText: /^healthy$/ })
      .waitFor({ timeout: 10_000 });
    await page.locator('#gateway-routes tr[data-gateway-route="catalog"]').waitFor();
    await upstreams[1]!.kill();
    await state('catalog-b')
      .filter({ hasText: /unhealthy|ejected/ })
      .waitFor({ timeout: 10_000 });
    assert.equal((await state('catalog-a').textContent())?.trim(), 'healthy');
    await saveScreenshot(page, 'gateway');
  });
});
