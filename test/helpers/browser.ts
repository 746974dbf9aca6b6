import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
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
