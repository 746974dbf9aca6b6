import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium, startPageServer } from '../../helpers/browser.js';
import { get, post, startNode, type TestNode } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';

const skip = requireTool('chromium');

interface PageState {
  received: unknown[];
  opens: number;
  subscribed: { recovered?: boolean }[];
}

// The same resume from a page of the node's own origin, and from a web app on another origin.
for (const pageOrigin of ['own', 'other'] as const)
  describe(`a browser's EventSource on a page of ${pageOrigin === 'own' ? "the node's own origin" : 'another origin'}`, { skip }, () => {
    let t: TestNode;
    let pages: { origin: string; close: () => Promise<void> } | undefined;
    let browser: Browser;
    let page: Page;

    before(async () => {
      if (pageOrigin === 'other') pages = await startPageServer();
      // The SSE retry hint follows closeGracePeriod: a short one makes the browser come back quickly.
      t = await startNode({ 'channels.namespaces': { h: { historySize: 100 } }, 'sessions.closeGracePeriod': '300ms', 'server.allowedOrigins': pages ? [pages.origin] : [] });
      browser = await launchChromium();
      page = await browser.newPage();
    });

    after(async () => {
      await browser?.close();
      await t?.stop();
      await pages?.close();
    });

    const state = () => page.evaluate(() => (window as unknown as { sb: PageState }).sb);

    async function waitFor(check: (s: PageState) => boolean, what: string): Promise<PageState> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const s = await state();
        if (check(s)) return s;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    it('reconnects by itself with Last-Event-ID and receives exactly what it missed, in order', async () => {
      await page.goto(pages ? `${pages.origin}/` : `${t.url}/healthz`);
      await page.evaluate((node) => {
        const sb: PageState = { received: [], opens: 0, subscribed: [] };
        (window as unknown as { sb: PageState }).sb = sb;
        const source = new EventSource(`${node}/sse?channels=h:feed`);
        source.addEventListener('open', () => (sb.opens += 1));
        source.addEventListener('subscribed', (e) => sb.subscribed.push(JSON.parse((e as MessageEvent).data)));
        source.addEventListener('message', (e) => sb.received.push(JSON.parse((e as MessageEvent).data).data));
      }, t.url);
      await waitFor((s) => s.subscribed.length === 1, 'the first subscription');
      for (let i = 1; i <= 3; i++) await post(`${t.url}/api/publish`, { channel: 'h:feed', data: i });
      await waitFor((s) => s.received.length === 3, 'three publications');

      // The server ends the stream; publications go on while the browser is away.
      const [session] = (await get(`${t.url}/api/sessions?channel=h:feed`)).body.sessions;
      assert.equal((await t.node.app.inject({ method: 'DELETE', url: `/api/sessions/${session.id}` })).statusCode, 200);
      for (let i = 4; i <= 6; i++) await post(`${t.url}/api/publish`, { channel: 'h:feed', data: i });

      const final = await waitFor((s) => s.opens === 2 && s.received.length >= 6, 'the browser to come back and catch up');
      await post(`${t.url}/api/publish`, { channel: 'h:feed', data: 7 });
      const done = await waitFor((s) => s.received.length >= 7, 'the live publication after the resume');
      assert.equal(final.opens, 2);
      assert.deepEqual(done.received, [1, 2, 3, 4, 5, 6, 7]);
      assert.equal(done.subscribed[1]?.recovered, true);
    });
  });
