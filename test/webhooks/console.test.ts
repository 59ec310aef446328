// The console's Webhooks page in a real Chromium: create an endpoint (the secret shown once), send a
// test event that a real receiver verifies, read the delivery log, and replay a dead-lettered delivery.
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Chromium, checkPage, launch } from '../console/browser.js';
import { PASSWORD, signUpAndIn, uniqueEmail } from '../helpers/accounts.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { type Receiver, startReceiver } from './receiver.js';

vi.setConfig({ testTimeout: 90_000 });

let s: TestServer;
let chrome: Chromium;
let ctx: BrowserContext;
let page: Page;
let r: Receiver;

beforeAll(async () => {
  // A 1-second retry window: a failing receiver is dead-lettered within the test.
  s = await startServer({ env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_WORKER_INTERVAL_MS: '20', WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_RETRY_WINDOW_SECONDS: '1' } });
  r = await startReceiver();
  chrome = await launch();
  const email = uniqueEmail('hooks');
  await signUpAndIn(s.url, 'Console Hooks', email);
  ctx = await chrome.context();
  page = await ctx.newPage();
  await page.goto(`${s.url}/sign-in`);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Organization settings' }).waitFor();
}, 60_000);

afterAll(async () => {
  await ctx?.close();
  await chrome?.close();
  await s?.stop();
  await r?.stop();
});

describe('console: webhooks', () => {
  it('creates an endpoint with its secret shown once, sends a test event, shows the delivery log and replays a dead letter', async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    expect(await checkPage(page, 'webhooks')).toEqual([]);
    await page.getByLabel('URL').fill(r.url);
    await page.getByLabel('Description').fill('console receiver');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const box = page.getByLabel('Signing secret', { exact: true });
    await box.waitFor();
    const secret = await box.inputValue();
    expect(secret).toMatch(/^whsec_/);
    expect(await checkPage(page, 'webhook-secret-shown-once')).toEqual([]);
    r.secrets = [secret];
    await page.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.content()).not.toContain(secret);

    const item = page.locator('li.item', { hasText: r.url });
    await item.getByText('console receiver', { exact: true }).waitFor();
    await item.getByRole('button', { name: 'Send test event' }).click();
    const [got] = await r.waitFor((all) => all.length === 1);
    expect(got.event.type).toBe('webhook.test');
    expect(got.verifiedWith).toEqual([secret]);
    await item.getByRole('button', { name: 'Delivery log' }).click();
    const log = item.getByRole('region', { name: 'Delivery log' });
    await log.getByText('delivered').waitFor();
    await log.getByText('204').waitFor();
    expect(await checkPage(page, 'webhook-delivery-log')).toEqual([]);

    // The receiver goes down: the next test event exhausts its (1 s) window and is dead-lettered.
    r.respond = () => 503;
    await item.getByRole('button', { name: 'Send test event' }).click();
    await log.getByText('dead lettered').waitFor({ timeout: 20_000 });
    r.respond = () => 204;
    const failures = r.received.length;
    await log.locator('li.item', { hasText: 'dead lettered' }).getByRole('button', { name: 'Replay' }).click();
    const all = await r.waitFor((x) => x.length > failures && x[x.length - 1].status === 204);
    const replayed = all[all.length - 1];
    expect(replayed.id).toBe(all[failures - 1].id); // the same webhook-id as the failed attempts
    expect(replayed.verifiedWith).toEqual([secret]);
    await log.getByText('dead lettered').waitFor({ state: 'detached' });

    // At 375 px the page (long URLs and event ids included) does not scroll sideways.
    await page.setViewportSize({ width: 375, height: 900 });
    expect(await checkPage(page, 'narrow-webhooks')).toEqual([]);
    const overflow = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth - (globalThis as any).document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });
});
