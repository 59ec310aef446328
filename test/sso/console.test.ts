// The console for SSO in Chromium: an admin connects an IdP and proves a domain on the Single
// sign-on page; then someone at that domain types their email on the sign-in page and is sent
// through the IdP into the console.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chromium, checkPage, launch } from '../console/browser.js';
import { PASSWORD, signUpAndIn, type TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startDns, startStubIssuer, uniqueDomain } from './fixtures.js';

let s: TestServer;
let dns: Awaited<ReturnType<typeof startDns>>;
let stub: Awaited<ReturnType<typeof startStubIssuer>>;
let chromium: Chromium;
let admin: TestUser;
const domain = uniqueDomain('console');

beforeAll(async () => {
  dns = await startDns();
  stub = await startStubIssuer();
  s = await startServer({ env: { DNS_SERVERS: dns.server, SSO_ALLOW_INSECURE_IDP: 'true' } });
  admin = await signUpAndIn(s.url, 'Console Admin');
  chromium = await launch();
}, 60_000);

afterAll(async () => {
  await chromium?.close();
  await s?.stop();
  await stub?.close();
  await dns?.close();
});

async function signIn(page: Page, email: string) {
  await page.goto(`${s.url}/sign-in`);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Organization settings' }).waitFor();
}

describe('Single sign-on page and email-first sign-in', () => {
  it('an admin connects an OIDC IdP and verifies a domain over DNS', async () => {
    const ctx = await chromium.context();
    const page = await ctx.newPage();
    await signIn(page, admin.email);
    await page.getByRole('link', { name: 'Single sign-on' }).click();
    await page.getByRole('heading', { level: 1, name: 'Single sign-on' }).waitFor();
    await page.getByLabel('Connection name').fill('Stub IdP');
    await page.getByLabel('Issuer URL').fill(stub.issuer);
    await page.getByLabel('Client ID').fill(stub.client_id);
    await page.getByLabel('Client secret').fill(stub.client_secret);
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.getByRole('heading', { level: 2, name: /Stub IdP/ }).waitFor();
    await expect.poll(() => page.getByText(`${s.url}/api/sso/oidc/callback`).count()).toBeGreaterThan(0);
    await page.getByLabel('Add a domain to Stub IdP').fill(domain);
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByText(`_latchkey-challenge.${domain}`).waitFor();
    await page.getByRole('button', { name: `Verify ${domain}` }).click();
    await page.getByRole('alert').filter({ hasText: 'No TXT record' }).waitFor();
    const list = await rest(s.url, 'GET', `/api/organizations/${admin.organizationId}/sso/connections`, { headers: { cookie: admin.cookie } });
    const d = list.body.data.connections[0].domains[0];
    dns.records.set(d.txtRecordName, [d.txtRecordValue]);
    await page.getByRole('button', { name: `Verify ${domain}` }).click();
    await page.getByText('Verified', { exact: true }).waitFor();
    expect(await checkPage(page, 'sso-connections')).toEqual([]);
    await ctx.close();
  }, 60_000);

  it('the sign-in page sends an SSO email to its IdP and lands in the console', async () => {
    stub.state.email = `new-person@${domain}`;
    const ctx = await chromium.context();
    const page = await ctx.newPage();
    await page.goto(`${s.url}/sign-in`);
    await page.getByLabel('Email', { exact: true }).fill(stub.state.email);
    await page.getByLabel('Password').focus(); // leaving the email field asks where it signs in
    await page.getByRole('link', { name: 'Continue with single sign-on' }).click();
    await page.getByRole('heading', { level: 1, name: 'Organization settings' }).waitFor();
    const me = (await page.evaluate(async () => (await fetch('/api/user/me')).json())) as { data: { email: string } };
    expect(me.data.email).toBe(stub.state.email);
    await ctx.close();
  }, 60_000);
});
