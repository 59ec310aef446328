// The console's API-key page in a real Chromium: the IP allowlist on create (its validation error
// beside the field) and on each key, and the usage chart of a key after real uses.
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Chromium, checkPage, launch } from '../console/browser.js';
import { PASSWORD } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { newUser, startWorld, type World, xApiKey } from './fixtures.js';

vi.setConfig({ testTimeout: 120_000 });

let w: World;
let chrome: Chromium;
let ctx: BrowserContext;
let page: Page;

beforeAll(async () => {
  w = await startWorld();
  chrome = await launch();
  ctx = await chrome.context();
  page = await ctx.newPage();
}, 60_000);
afterAll(async () => {
  await ctx?.close();
  await chrome?.close();
  await w?.stop();
});

describe('API keys page', () => {
  it('creates a key with an IP allowlist, shows it, and charts its refused and accepted uses', async () => {
    const u = await newUser(w, 'Console Keys');
    await page.goto(`${w.url}/sign-in`);
    await page.getByLabel('Email', { exact: true }).fill(u.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Organization settings' }).waitFor();
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();

    await page.getByLabel('Name', { exact: true }).fill('fenced');
    await page.getByLabel('IP allowlist (optional)').fill('203.0.113.0/24, 10.0.0.0/99');
    await page.getByRole('button', { name: 'Create API key' }).click();
    await expect.poll(() => page.locator('.field-error').allTextContents()).toEqual([expect.stringMatching(/IPv4 or IPv6 address or CIDR range/)]);

    await page.getByLabel('IP allowlist (optional)').fill('203.0.113.0/24, 127.0.0.1');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const secret = await page.locator('input[readonly]').first().inputValue();
    expect(secret).toMatch(/^lk_/);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    const item = page.locator('li.item', { hasText: 'fenced' }).first();
    await expect.poll(() => item.textContent()).toContain('203.0.113.0/24, 127.0.0.1/32');

    // Three uses from 127.0.0.1 (allowed), then the allowlist narrowed in the console: two refused.
    for (let i = 0; i < 3; i++) expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(secret) })).status).toBe(200);
    await item.getByRole('button', { name: 'IP allowlist of fenced' }).click();
    await page.getByLabel('Addresses or CIDR ranges').fill('203.0.113.0/24');
    await page.getByRole('button', { name: 'Save allowlist' }).click();
    await expect.poll(() => item.textContent()).not.toContain('127.0.0.1/32');
    for (let i = 0; i < 2; i++) expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(secret) })).status).toBe(403);
    await w.server.deps.apiKeys.usage.flush();

    await item.getByText('Usage, last 24 hours').click();
    const caption = item.locator('figcaption');
    await expect.poll(() => caption.textContent()).toMatch(/^3 accepted, 2 refused in the last 24 hours \(2 forbidden\)/);
    expect(await item.locator('svg[role=img] rect').count()).toBe(2 * 24 + 2); // accepted and refused bar per hour (25 buckets: the range is rounded out)
    expect(await checkPage(page, 'api-keys-usage')).toEqual([]);
  });
});
