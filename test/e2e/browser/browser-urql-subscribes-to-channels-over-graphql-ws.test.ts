import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { bundleForBrowser, nodeAndPage, originName, type NodeAndPage } from '../../helpers/browser.js';
import { get, post, type TestNode } from '../../helpers/node.js';
import { parseExposition } from '../../helpers/prometheus.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireTool('chromium');

/** urql with graphql-ws as its subscription transport, as a web app bundles them; `subscribe` is what the page calls. */
const app = `
import { Client, subscriptionExchange } from '@urql/core';
import { createClient } from 'graphql-ws';
window.subscribe = (wsUrl, query) => {
  const results = [];
  const ws = createClient({ url: wsUrl, retryAttempts: 0 });
  const client = new Client({
    url: wsUrl.replace('ws', 'http'),
    exchanges: [subscriptionExchange({ forwardSubscription: (request) => ({ subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query || '' }, sink) }) }) })],
  });
  client.subscription(query, {}).subscribe((result) => results.push(result.error ? { error: result.error.graphQLErrors.map((e) => e.extensions.code) } : result.data));
  return results;
};
`;

/** Bundled once for both pages. */
let bundled: Promise<string> | undefined;
const bundle = () => (bundled ??= bundleForBrowser(app));

interface PageWindow {
  subscribe(wsUrl: string, query: string): unknown[];
  results: Record<string, unknown[]>;
}

for (const pageOrigin of ['own', 'other'] as const)
  describe(`urql in Chromium on a page of ${originName(pageOrigin)}`, { skip }, () => {
    let fixture: NodeAndPage;
    let t: TestNode;
    let page: Page;

    before(async () => {
      fixture = await nodeAndPage(pageOrigin, { 'graphql.enabled': true, 'channels.namespaces': { news: {}, secret: { subscribe: 'server' } } });
      ({ node: t, page } = fixture);
    });
    after(() => fixture?.close());

    const operations = async () => parseExposition((await get(`${t.url}/metrics`)).text).value('switchboard_graphql_operations');
    const results = (name: string) => page.evaluate((n) => (window as unknown as PageWindow).results[n]!, name);

    it('subscribes to a channel and receives what the API publishes; a forbidden channel is a GraphQL error', async () => {
      await fixture.open();
      await page.addScriptTag({ content: await bundle() });
      await page.evaluate((wsUrl) => {
        const w = window as unknown as PageWindow;
        w.results = {
          news: w.subscribe(wsUrl, 'subscription { channel(name: "news:browser") { channel data } }'),
          secret: w.subscribe(wsUrl, 'subscription { channel(name: "secret:x") { data } }'),
        };
      }, `${t.wsUrl}/graphql`);
      await waitUntil(async () => (await results('secret')).length > 0, 10_000, 'the refusal');
      assert.deepEqual((await results('secret'))[0], { error: ['forbidden'] });
      await waitUntil(async () => (await operations()) === 1, 10_000, 'the subscription');
      assert.equal((await post(`${t.url}/api/publish`, { channel: 'news:browser', data: { seen: 'in the browser' } })).status, 200);
      await waitUntil(async () => (await results('news')).length === 1, 10_000, 'the publication');
      assert.deepEqual(await results('news'), [{ channel: { channel: 'news:browser', data: { seen: 'in the browser' } } }]);
    });
  });
