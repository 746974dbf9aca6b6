import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nodeAndPage, originName, type NodeAndPage } from '../../helpers/browser.js';
import { get, post } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireTool('chromium');

interface PageState {
  received: unknown[];
  opens: number;
  subscribed: { recovered?: boolean }[];
}

// The same resume from a page of the node's own origin, and from a web app on another origin.
for (const pageOrigin of ['own', 'other'] as const)
  describe(`a browser's EventSource on a page of ${originName(pageOrigin)}`, { skip }, () => {
    let fixture: NodeAndPage;

    before(async () => {
      // The SSE retry hint follows closeGracePeriod: a short one makes the browser come back quickly.
      fixture = await nodeAndPage(pageOrigin, { 'channels.namespaces': { h: { historySize: 100 } }, 'sessions.closeGracePeriod': '300ms' });
    });
    after(() => fixture?.close());

    const state = () => fixture.page.evaluate(() => (window as unknown as { sb: PageState }).sb);

    async function waitFor(check: (s: PageState) => boolean, what: string): Promise<PageState> {
      let last: PageState | undefined;
      await waitUntil(async () => check((last = await state())), 10_000, what);
      return last!;
    }

    it('reconnects by itself with Last-Event-ID and receives exactly what it missed, in order', async () => {
      const { node: t, page } = fixture;
      await fixture.open();
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
