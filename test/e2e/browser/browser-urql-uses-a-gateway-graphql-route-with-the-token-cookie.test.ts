import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { hmacToken } from '../../helpers/auth.js';
import { bundleForBrowser, launchChromium, startPageServer } from '../../helpers/browser.js';
import { ReviewBus, startGraphqlService, type GraphqlService } from '../../helpers/graphql-service.js';
import { startNode, type TestNode } from '../../helpers/node.js';
import { requireTool } from '../../helpers/tools.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = requireTool('chromium');
const secret = 'gateway-browser-test-secret-of-some-length';

/** urql sending every operation over graphql-ws, as a web app with only a WebSocket link does; `run` is what the page calls. */
const app = `
import { Client, subscriptionExchange } from '@urql/core';
import { createClient } from 'graphql-ws';
window.run = (wsUrl, query) => {
  const results = [];
  const ws = createClient({ url: wsUrl, retryAttempts: 0, onNonLazyError: () => {} });
  const client = new Client({
    url: wsUrl.replace('ws', 'http'),
    exchanges: [subscriptionExchange({ enableAllOperations: true, forwardSubscription: (request) => ({ subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query || '' }, sink) }) }) })],
  });
  const source = query.startsWith('subscription') ? client.subscription(query, {}) : client.query(query, {});
  source.subscribe((result) => results.push(result.error ? { error: result.error.message } : result.data));
  return results;
};
`;

let bundled: Promise<string> | undefined;
const bundle = () => (bundled ??= bundleForBrowser(app));

interface PageWindow {
  run(wsUrl: string, query: string): unknown[];
  results: Record<string, unknown[]>;
}

/**
 * A GraphQL service behind a graphql route with `auth: jwt`, used by urql in Chromium with the
 * token in the node's cookie: from the node's own origin and from a listed one the service sees the
 * user; a page of an unlisted origin on the same site (the cookie goes along) is refused.
 */
describe('urql in Chromium through a gateway graphql route with the token cookie', { skip }, () => {
  let node: TestNode;
  let service: GraphqlService;
  let listed: { origin: string; close: () => Promise<void> };
  let unlisted: { origin: string; close: () => Promise<void> };
  let browser: Browser;
  let context: BrowserContext;
  const bus = new ReviewBus();
  // The page servers answer on 127.0.0.1 too: another origin than the node's, but the same site, so the browser sends the node's cookie.
  const sameSite = (origin: string) => origin.replace('localhost', '127.0.0.1');

  before(async () => {
    [service, listed, unlisted] = await Promise.all([startGraphqlService('a', bus), startPageServer(), startPageServer()]);
    node = await startNode({
      'auth.jwt.secrets': [secret],
      'server.allowedOrigins': [sameSite(listed.origin)],
      'gateway.enabled': true,
      'gateway.services': { reviews: { instances: [service.url] } },
      'gateway.routes': [{ name: 'reviews', kind: 'graphql', service: 'reviews', path: '/reviews/graphql', rewrite: '/graphql', auth: 'jwt', claimHeaders: { sub: 'x-user-id' } }],
    });
    browser = await launchChromium();
    context = await browser.newContext();
    await context.addCookies([{ name: 'switchboard_token', value: await hmacToken(secret, { sub: 'alice' }), url: node.url }]);
  });
  after(async () => {
    await browser?.close();
    await node?.stop();
    await service?.kill();
    await listed?.close();
    await unlisted?.close();
  });

  const openPage = async (url: string) => {
    const page = await context.newPage();
    await page.goto(url);
    await page.addScriptTag({ content: await bundle() });
    const results = (name: string) => page.evaluate((n) => (window as unknown as PageWindow).results[n]!, name);
    const run = (queries: Record<string, string>) =>
      page.evaluate(
        ([wsUrl, q]) => {
          const w = window as unknown as PageWindow;
          w.results = Object.fromEntries(Object.entries(q).map(([name, query]) => [name, w.run(wsUrl, query)]));
        },
        [`${node.wsUrl}/reviews/graphql`, queries] as const,
      );
    return { page, run, results };
  };

  for (const [where, url] of [
    ["the node's own origin", () => `${node.url}/healthz`],
    ['a listed origin', () => `${sameSite(listed.origin)}/`],
  ] as const) {
    it(`queries and subscribes as the cookie's user from a page of ${where}`, async () => {
      const { page, run, results } = await openPage(url());
      await run({ who: '{ header(name: "x-user-id") }', added: 'subscription { reviewAdded { stars instance } }' });
      await waitUntil(async () => (await results('who')).length > 0, 10_000, 'the query answer');
      assert.deepEqual(await results('who'), [{ header: 'alice' }]);
      await waitUntil(() => service.activeOperations() > 0, 10_000, 'the subscription on the service');
      bus.add(5);
      await waitUntil(async () => (await results('added')).length > 0, 10_000, 'the review');
      assert.deepEqual(await results('added'), [{ reviewAdded: { stars: 5, instance: 'a' } }]);
      await page.close();
      await waitUntil(() => service.activeOperations() === 0, 10_000, 'the subscription to end with the page');
    });
  }

  it('is refused from a page of an unlisted origin, though the browser sent the cookie', async () => {
    const before = service.requests.length;
    const { page, run, results } = await openPage(`${sameSite(unlisted.origin)}/`);
    await run({ who: '{ header(name: "x-user-id") }' });
    await waitUntil(async () => (await results('who')).length > 0, 10_000, 'the failure');
    const [outcome] = (await results('who')) as { error?: string }[];
    assert.ok(outcome?.error, `an error, not data: ${JSON.stringify(outcome)}`);
    assert.equal(service.requests.length, before, 'nothing reached the service');
    await page.close();
  });
});
