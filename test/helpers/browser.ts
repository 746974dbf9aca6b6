import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startNode, type TestNode } from './node.js';
import { tool } from './tools.js';

/**
 * Debian's headless Chromium, never a downloaded one. Without the background-networking flags it
 * keeps trying hosts this machine cannot reach.
 */
export function launchChromium(options: { ignoreCertificateErrors?: boolean } = {}): Promise<Browser> {
  const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  if (options.ignoreCertificateErrors) args.push('--ignore-certificate-errors');
  return chromium.launch({ executablePath: tool('chromium'), args });
}

/** A web app's own server: an empty page on its own port, so its origin is not the node's. */
export async function startPageServer(): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>app</title><p>app</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // localhost vs 127.0.0.1: another host, so another origin (and site) than the node's.
  return { origin: `http://localhost:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A web app's script bundled as a page would load it, with the project's own packages (urql, graphql-ws). */
export async function bundleForBrowser(source: string): Promise<string> {
  const bundled = await build({ stdin: { contents: source, resolveDir: repoRoot }, bundle: true, write: false, format: 'iife', platform: 'browser', logLevel: 'silent' });
  return bundled.outputFiles[0]!.text;
}

/** Where a browser test's page lives: on the node's own origin, or on a web app's origin the node lists in server.allowedOrigins. */
export type PageOrigin = 'own' | 'other';

export interface NodeAndPage {
  node: TestNode;
  page: Page;
  /** Loads the page: the web app's, or one of the node's own. */
  open(): Promise<void>;
  /** Ends the browser, the node and the web app's server; safe after a failed start. */
  close(): Promise<void>;
}

/** A node started with `settings` and a Chromium page on the given origin. */
export async function nodeAndPage(origin: PageOrigin, settings: Record<string, unknown>): Promise<NodeAndPage> {
  let pages: Awaited<ReturnType<typeof startPageServer>> | undefined;
  let node: TestNode | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await node?.stop();
    await pages?.close();
  };
  try {
    if (origin === 'other') pages = await startPageServer();
    node = await startNode({ ...settings, 'server.allowedOrigins': pages ? [pages.origin] : [] });
    browser = await launchChromium();
    const page = await browser.newPage();
    const started = node;
    const open = async () => void (await page.goto(pages ? `${pages.origin}/` : `${started.url}/healthz`));
    return { node, page, open, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The describe title's words for an origin. */
export const originName = (origin: PageOrigin) => (origin === 'own' ? "the node's own origin" : 'another origin');
