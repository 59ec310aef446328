// Headless Debian Chromium driven by playwright-core, plus the checks every console page gets:
// axe (no serious or critical violation) and a screenshot in test-artifacts/.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/console/', import.meta.url));

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export interface Chromium {
  browser: Browser;
  /** A fresh context (its own cookies and storage), like a second person's browser. */
  context(opts?: { width?: number }): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launch(): Promise<Chromium> {
  // launch() runs Chromium on a fresh temporary user-data dir of its own, removed on close.
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ARGS });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    browser,
    async context({ width = 1280 } = {}) {
      const ctx = await browser.newContext({ viewport: { width, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
      ctx.setDefaultTimeout(20_000); // fail with Playwright's message well before the test's own timeout
      return ctx;
    },
    close: () => browser.close(),
  };
}

export interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/** Axe with the WCAG 2.1 A/AA rules; returns the serious and critical violations (expected: none). */
async function axe(page: Page): Promise<Violation[]> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ id: v.id, impact: v.impact!, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
}

/** Every page visited is checked and photographed; returns its violations for the test to assert. */
export const visited = new Map<string, Violation[]>();
export async function checkPage(page: Page, name: string): Promise<Violation[]> {
  await page.locator('h1').first().waitFor();
  await page.waitForLoadState('networkidle');
  const v = await axe(page);
  visited.set(name, v);
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  return v;
}
