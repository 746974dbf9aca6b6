import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';

/** test-artifacts/ at the repository root (tests run from dist/test/...). */
const artifacts = new URL('../../../test-artifacts/', import.meta.url);

/** A page of the admin console, in a narrow or wide window. */
export async function openConsole(browser: Browser, nodeUrl: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  await page.goto(`${nodeUrl}/admin/`);
  await page.locator('#credential').waitFor({ timeout: 10_000 });
  return page;
}

/** Types a key or JWT into the sign-in form and submits it. */
export async function submitCredential(page: Page, credential: string): Promise<void> {
  await page.fill('#credential', credential);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in and waits until the console's live session is up. */
export async function signIn(page: Page, credential: string): Promise<void> {
  await submitCredential(page, credential);
  await page.locator('#live-state[data-state="live"]').waitFor({ timeout: 10_000 });
}

/** Goes to one of the console's pages through its navigation, as a keyboard user would. */
export async function showPage(page: Page, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: title, exact: true }).click();
  await page.locator(`main[data-page="${title.toLowerCase()}"]`).waitFor();
}

/** Saves test-artifacts/console-NAME.png. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: fileURLToPath(new URL(`console-${name}.png`, artifacts)), fullPage: true });
}
