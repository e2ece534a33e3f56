#!/usr/bin/env node
/**
 * `node web-browser-driver.js URL DOOR CODE SCREENSHOT`: run inside a lab client namespace.
 * Drives Debian's Chromium (never a downloaded one) through playwright-core like a person:
 * open the knock page, pick the door, type the code, press Open, read the answer. Prints
 * `{"status":200,"result":"ssh open for ...","labels":[...]}` and saves a screenshot.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, door, code, screenshot] = process.argv.slice(2);
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
  // a phone-sized window: the page must read well there
  viewport: { width: 390, height: 700 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  javaScriptEnabled: false,
});
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(url, { timeout: 15_000 });
  const labels = await page.locator('label').allInnerTexts();
  await page.getByLabel('Door').selectOption(door);
  const input = page.getByLabel('Code');
  await input.click();
  await input.pressSequentially(code, { delay: 30 });
  const [response] = await Promise.all([
    page.waitForNavigation({ timeout: 15_000 }),
    page.getByRole('button', { name: 'Open' }).click(),
  ]);
  const result = (await page.getByRole('status').innerText()).trim();
  await page.screenshot({ path: screenshot, fullPage: true });
  process.stdout.write(`${JSON.stringify({ status: response?.status() ?? 0, result, labels })}\n`);
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
