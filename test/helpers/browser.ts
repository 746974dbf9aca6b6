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
