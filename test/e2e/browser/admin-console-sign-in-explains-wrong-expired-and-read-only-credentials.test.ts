import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Request } from 'playwright-core';
import { bearer, hmacToken } from '../../helpers/auth.js';
import { launchChromium } from '../../helpers/browser.js';
import { connectWs, type WsClient } from '../../helpers/clients.js';
import { openConsole, saveScreenshot, showPage, signIn, submitCredential } from '../../helpers/console.js';
import { request } from '../../helpers/http.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';

const skip = requireTool('chromium');

const adminKey = 'console-admin-key-0123456789';
const readOnlyKey = 'console-read-only-key-0123456789';
const jwtSecret = 'console-jwt-secret-0123456789abcdef';

describe('signing in to the admin console', { skip }, () => {
  let t: TestNode;
  let browser: Browser;
  let client: WsClient | undefined;

  before(async () => {
    t = await startNode({
      'api.insecure': false,
      'api.keys': [adminKey],
      'admin.enabled': true,
      'admin.readOnlyKeys': [readOnlyKey],
      'auth.jwt.secrets': [jwtSecret],
    });
    browser = await launchChromium();
  });

  after(async () => {
    client?.close();
    await browser?.close();
    await t?.stop();
  });

  it('refuses a wrong key with a message saying so, as the API refuses it with 401', async () => {
    const page = await openConsole(browser, t.url);
    await submitCredential(page, 'not-a-key-of-this-node');
    await page.locator('.message.error', { hasText: 'The node refused this key or token' }).waitFor({ timeout: 5_000 });
    await saveScreenshot(page, 'sign-in-refused');
    assert.equal((await request('GET', `${t.url}/api/admin/whoami`, { headers: bearer('not-a-key-of-this-node') })).status, 401);
    await page.close();
  });

  it('tells the holder of an expired admin JWT when it expired, as the API refuses it with 401', async () => {
    const expired = await hmacToken(jwtSecret, { sub: 'ops', switchboard_role: 'admin' }, { expiresIn: -3600 });
    const page = await openConsole(browser, t.url);
    await submitCredential(page, expired);
    await page.locator('.message.error', { hasText: /Your token expired at .*Sign in with a new one/ }).waitFor({ timeout: 5_000 });
    assert.equal((await request('GET', `${t.url}/api/admin/whoami`, { headers: bearer(expired) })).status, 401);
    await page.close();
  });

  it('lets a read-only key see a session but explains that it may not disconnect it, as the API answers 403', async () => {
    client = await connectWs(`${t.wsUrl}/ws`);
    const welcome = await client.next((f) => f.type === 'welcome');
    const page = await openConsole(browser, t.url);
    await signIn(page, readOnlyKey);
    await page.locator('#who [data-role="read-only"]').waitFor();
    await showPage(page, 'Connections');
    await page.getByRole('button', { name: `details of session ${welcome.session}` }).click();
    await page.locator('#disconnect').click();
    await page.locator('#session-details .message.error', { hasText: 'read-only role' }).waitFor({ timeout: 5_000 });
    await saveScreenshot(page, 'read-only-refused');
    const refused = await request('POST', `${t.url}/api/sessions/${welcome.session}/disconnect`, { headers: bearer(readOnlyKey), body: { reason: 'no' } });
    assert.equal(refused.status, 403);
    assert.equal(t.node.registry.get(welcome.session)?.id, welcome.session, 'the session is still connected');
    await page.close();
  });

  it('signs in an admin JWT with the keyboard, keeps it in sessionStorage only, never in a URL, and forgets it on sign-out', async () => {
    const token = await hmacToken(jwtSecret, { sub: 'ops', switchboard_role: 'admin' }, { expiresIn: 3600 });
    const page = await openConsole(browser, t.url);
    const urls: string[] = [];
    page.on('request', (req: Request) => urls.push(req.url()));
    await page.locator('#credential').focus();
    await page.keyboard.type(token);
    await page.keyboard.press('Enter');
    await page.locator('#live-state[data-state="live"]').waitFor({ timeout: 10_000 });
    assert.match((await page.locator('#who').textContent()) ?? '', /ops · admin/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('switchboard.console.credential')), token);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    await page.reload();
    await page.locator('#live-state[data-state="live"]').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#credential').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('switchboard.console.credential')), null);
    assert.ok(urls.length > 0);
    assert.deepEqual(
      urls.filter((url) => url.includes(token) || url.includes(token.split('.')[2]!)),
      [],
    );
    await page.close();
  });
});
