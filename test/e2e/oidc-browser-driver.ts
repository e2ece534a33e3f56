#!/usr/bin/env node
/**
 * `node oidc-browser-driver.js PAGE_URL DOOR LOGIN SCREENSHOT`: run inside a lab client
 * namespace. Debian's Chromium, driven by playwright-core like a person: open the knock page,
 * follow "Sign in to open DOOR", sign in at the provider as LOGIN, allow sesame, read the
 * answer. LOGIN `-` stops after the first click (the provider is down). Prints
 * `{"status":200,"result":"...","callback":"https://.../oidc/callback?..."}`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, door, login, screenshot] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'sesame-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
  ],
  // the lab's certificates are self-signed
  ignoreHTTPSErrors: true,
  viewport: { width: 390, height: 700 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
});
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  let callback = '';
  page.on('request', (r) => {
    if (r.url().includes('/oidc/callback')) callback = r.url();
  });
  await page.goto(url, { timeout: 15_000 });
  const [first] = await Promise.all([
    page.waitForNavigation({ timeout: 20_000 }),
    page.getByRole('link', { name: `Sign in to open ${door}` }).click(),
  ]);
  let status = first?.status() ?? 0;
  if (login !== '-') {
    const form = page.locator('input[name=login]');
    if (!(await form.isVisible()))
      throw new Error(`no sign-in form at ${page.url()}: ${(await page.locator('body').innerText()).slice(0, 300)}`);
    await form.fill(login);
    await page.locator('input[name=password]').fill('any password');
    await Promise.all([
      page.waitForNavigation({ timeout: 20_000 }),
      page.getByRole('button', { name: 'Sign-in' }).click(),
    ]);
    // the provider asks once whether sesame may have the account's details
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/oidc/callback'), { timeout: 20_000 }),
      page.getByRole('button', { name: 'Continue' }).click(),
    ]);
    status = answer.status();
    await page.waitForLoadState('load');
  }
  const result = (await page.getByRole('status').innerText()).trim();
  await page.screenshot({ path: screenshot, fullPage: true });
  process.stdout.write(`${JSON.stringify({ status, result, callback })}\n`);
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
