// The console in a real Chromium against the real server and SMTP listener: every flow of issue 11,
// axe and a screenshot on every page, the cookie and storage rules.
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PASSWORD, signUpAndIn, uniqueEmail } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { codeOf, linkOf, type SmtpSink, startSmtp } from '../helpers/smtp.js';
// Callbacks of page.evaluate run in the browser; the test files compile without the DOM lib, hence
// `(globalThis as any).document`.
import { type Chromium, checkPage, launch, visited } from './browser.js';

vi.setConfig({ testTimeout: 120_000 });

let s: TestServer;
let smtp: SmtpSink;
let chrome: Chromium;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  smtp = await startSmtp();
  s = await startServer({ env: { SMTP_URL: smtp.url } });
  chrome = await launch();
}, 60_000);

afterAll(async () => {
  for (const c of contexts) await c.close();
  await chrome?.close();
  await s?.stop();
  await smtp?.stop();
});

async function newPage(width?: number): Promise<Page> {
  const ctx = await chrome.context({ width });
  contexts.push(ctx);
  return ctx.newPage();
}

/** Visit, then axe + screenshot; the page must have no serious or critical violation. */
async function check(page: Page, name: string): Promise<void> {
  expect(await checkPage(page, name), `axe on ${name}`).toEqual([]);
}

const heading = (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 1, name }).waitFor();

async function register(page: Page, email: string, name = 'Console User'): Promise<void> {
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
}

async function signInWithPassword(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto(`${s.url}/sign-in`);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, 'Organization settings');
}

/** A console user signed in in a fresh context, on the organization page. */
async function signedInPage(email = uniqueEmail('console'), width?: number): Promise<{ page: Page; email: string; orgId: string }> {
  const u = await signUpAndIn(s.url, 'Console User', email);
  await smtp.nextMail(email); // the verification email, read so later nextMail calls get the next one
  const page = await newPage(width);
  await signInWithPassword(page, email);
  return { page, email, orgId: u.organizationId };
}

const orgIdOnPage = (page: Page) => page.getByLabel('Org ID').inputValue();

describe('console: accounts and emailed links', () => {
  it('sign up → the verification link from the email → signed in, Org ID shown and the orgid cookie set', async () => {
    const page = await newPage();
    await page.goto(`${s.url}/register`);
    await check(page, 'register');
    const email = uniqueEmail('signup');
    await register(page, email);
    await heading(page, 'Organization settings');
    await page.getByText('Check your email: we sent a verification link').waitFor();

    const mail = await smtp.nextMail(email);
    const link = linkOf(mail);
    expect(link.startsWith(`${s.url}/verify-email?token=`)).toBe(true);
    await page.goto(link);
    await page.getByText('is verified').waitFor();
    expect(new URL(page.url()).searchParams.has('token')).toBe(false); // the token left the address bar
    await check(page, 'verify-email');
    await page.getByRole('link', { name: 'Continue to the console' }).click();
    await heading(page, 'Organization settings');
    await check(page, 'organization');

    const orgId = await orgIdOnPage(page);
    const orgs = await page.context().cookies(s.url);
    expect(orgs.find((c) => c.name === 'orgid')?.value).toBe(orgId);
    const me = await rest(s.url, 'GET', '/api/user/organizations', { headers: { cookie: `latchkey_session=${orgs.find((c) => c.name === 'latchkey_session')!.value}` } });
    expect(me.body.data.organizations.map((o: { id: string }) => o.id)).toContain(orgId);
    // Cookie rules: the session cookie is HttpOnly and Lax, invisible to scripts; nothing is in storage.
    const session = orgs.find((c) => c.name === 'latchkey_session')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    expect(await page.evaluate(() => (globalThis as any).document.cookie)).not.toContain('latchkey_session');
    expect(await page.evaluate(() => [(globalThis as any).localStorage.length, (globalThis as any).sessionStorage.length])).toEqual([0, 0]);
    expect(await page.getByText('Check your email: we sent a verification link').count()).toBe(0);
  });

  it('magic link from the register form: the emailed link signs in on a new page; the same link again says it was used; a password is set later from the profile', async () => {
    const page = await newPage();
    await page.goto(`${s.url}/register`);
    const email = uniqueEmail('magic');
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByRole('button', { name: 'Send sign-in email' }).click();
    await heading(page, 'Check your email');
    await check(page, 'check-your-email');

    const link = linkOf(await smtp.nextMail(email));
    expect(link.startsWith(`${s.url}/magic-link/redirect?token=`)).toBe(true);
    const tab = await page.context().newPage();
    await tab.goto(link);
    await heading(tab, 'Organization settings'); // landed in the console, no password asked
    await tab.close();

    const again = await newPage();
    await again.goto(link);
    await again.getByText('already been used or has expired').waitFor();
    await check(again, 'magic-link-used');

    // "You can set one later from your profile" (seed 000).
    await page.goto(`${s.url}/profile`);
    await heading(page, 'Profile');
    await page.getByText('Your account has no password yet').waitFor();
    await check(page, 'profile');
    await page.getByLabel('Name', { exact: true }).fill('Magic Person');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByText('Name saved.').waitFor();
    await page.getByLabel('New password').fill('first-password-123');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('Password saved.').waitFor();
    await page.getByLabel('Current password').waitFor(); // now it has one

    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading(page, 'Sign in');
    await check(page, 'sign-in');
    await signInWithPassword(page, email, 'first-password-123');
    const me = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: 'first-password-123' } });
    expect(me.body.data.user.fullName).toBe('Magic Person');
  });

  it('6-digit code: requested from the form, typed on the code page, signs in', async () => {
    const page = await newPage();
    await page.goto(`${s.url}/register`);
    const email = uniqueEmail('code');
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Email me a 6-digit code').check();
    await page.getByRole('button', { name: 'Send sign-in email' }).click();
    await heading(page, 'Enter your code');
    await check(page, 'magic-code');
    const code = codeOf(await smtp.nextMail(email));
    await page.getByLabel('6-digit code').fill(code === '000000' ? '000001' : String((Number(code) + 1) % 1e6).padStart(6, '0'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That code is wrong, used or expired').waitFor();
    await page.getByLabel('6-digit code').fill(code);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading(page, 'Organization settings');
  });

  it('password reset from the email: new password form, old sessions end, the new password signs in', async () => {
    const { page, email } = await signedInPage(uniqueEmail('reset'));
    const other = await newPage();
    await other.goto(`${s.url}/forgot-password`);
    await check(other, 'forgot-password');
    await other.getByLabel('Email', { exact: true }).fill(email);
    await other.getByRole('button', { name: 'Email me a reset link' }).click();
    await other.getByText('we sent it a link').waitFor();
    const link = linkOf(await smtp.nextMail(email));
    expect(link.startsWith(`${s.url}/reset-password?token=`)).toBe(true);
    await other.goto(link);
    await heading(other, 'Choose a new password');
    await check(other, 'reset-password');
    await other.getByLabel('New password', { exact: true }).fill('short');
    await other.getByLabel('Repeat the new password').fill('short');
    await other.getByRole('button', { name: 'Set new password' }).click();
    await other.getByText('must be at least 10 characters').waitFor(); // the API's message, next to the field
    await other.getByLabel('New password', { exact: true }).fill('brand-new-password-1');
    await other.getByLabel('Repeat the new password').fill('brand-new-password-1');
    await other.getByRole('button', { name: 'Set new password' }).click();
    await heading(other, 'Password changed');

    await page.goto(`${s.url}/organization`); // the first browser's session was ended
    await heading(page, 'Sign in');
    await signInWithPassword(page, email, 'brand-new-password-1');
  });

  it('invitation: an admin invites by email in the console; a new user accepts it in a second browser', async () => {
    const admin = await signedInPage(uniqueEmail('inviter'));
    await admin.page.getByRole('link', { name: 'Members' }).click();
    await heading(admin.page, 'Members');
    const invitee = uniqueEmail('invitee');
    await admin.page.getByLabel('Email address to invite').fill(invitee);
    await admin.page.getByRole('button', { name: 'Send invitation' }).click();
    await admin.page.getByText(`Invitation sent to ${invitee}`).waitFor();
    await admin.page.getByText(invitee, { exact: true }).waitFor(); // in the pending list
    await check(admin.page, 'members');

    const link = linkOf(await smtp.nextMail(invitee));
    expect(link).toMatch(new RegExp(`^${s.url}/invitations/[^/?]+\\?token=`));
    const guest = await newPage();
    await guest.goto(link);
    await heading(guest, 'You are invited');
    await check(guest, 'invitation');
    await guest.getByRole('link', { name: 'Create an account' }).click();
    await heading(guest, 'Create your account');
    await register(guest, invitee, 'Invited Person');
    await heading(guest, 'Join the organization');
    await guest.getByRole('button', { name: 'Accept invitation' }).click();
    await heading(guest, 'Invitation accepted');
    await guest.getByRole('link', { name: /^Open / }).click();
    expect(await orgIdOnPage(guest)).toBe(admin.orgId); // switched to the joined organization

    await admin.page.reload();
    await admin.page.getByRole('combobox', { name: `Role of ${invitee}` }).waitFor();
    expect(await admin.page.getByText('No pending invitations.').count()).toBe(1);
  });
});

describe('console: keys, partner, audit', () => {
  let page: Page;
  let orgId: string;
  beforeAll(async () => {
    ({ page, orgId } = await signedInPage(uniqueEmail('keys')));
  });

  const call = (key: string, path = '/api/user/me', headers: Record<string, string> = {}) => rest(s.url, 'GET', path, { headers: { 'x-api-key': key, ...headers } });

  it('creates a key with scopes, limit and expiry; the plaintext is shown once and works with curl; revoked in the console it is 401', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await heading(page, 'API keys');
    await check(page, 'api-keys');
    await page.getByLabel('Name', { exact: true }).fill('build pipeline');
    await page.getByRole('checkbox', { name: 'read', exact: true }).check();
    await page.getByLabel('Other scopes, for your own services').fill('projects:write');
    await page.getByLabel('Rate limit (requests per minute)').fill('60');
    await page.getByLabel('Expires').selectOption({ label: '30 days' });
    await page.getByRole('button', { name: 'Create API key' }).click();
    const secretBox = page.getByLabel('Secret key');
    await secretBox.waitFor();
    const key = await secretBox.inputValue();
    await page.getByText('you will not be able to see it again').waitFor();
    await check(page, 'api-key-shown-once');

    const ok = await call(key);
    expect(ok.status).toBe(200);
    const write = await rest(s.url, 'POST', '/api/auth/api-key/create', { headers: { 'x-api-key': key }, body: { name: 'minted by a read key' } });
    expect(write.status).toBe(403); // the ticked scopes hold: read, no write
    await page.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.getByLabel('Secret key').count()).toBe(0);
    expect(await page.content()).not.toContain(key); // gone from the page for good

    const item = page.locator('li.item', { hasText: 'build pipeline' });
    await item.getByText('read, projects:write').waitFor();
    await item.getByText('60/min').waitFor();
    await page.getByRole('button', { name: 'Revoke build pipeline' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke “build pipeline”?' });
    await dialog.waitFor();
    await check(page, 'api-key-revoke-confirm');
    await dialog.getByRole('button', { name: 'Revoke for good' }).click();
    await item.getByText('revoked', { exact: true }).waitFor();
    const after = await call(key);
    expect(after.status).toBe(401);
  });

  it('regenerate with a grace period shows the new secret once; disable refuses the key until enabled', async () => {
    await page.getByLabel('Name', { exact: true }).fill('rotating');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const first = await page.getByLabel('Secret key').inputValue();
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('button', { name: 'Regenerate rotating' }).click();
    const dialog = page.getByRole('dialog', { name: 'Regenerate “rotating”?' });
    await dialog.getByLabel('The old secret keeps working for').selectOption('3600');
    await dialog.getByRole('button', { name: 'Regenerate' }).click();
    const second = await page.getByLabel('Secret key').inputValue();
    expect(second).not.toBe(first);
    expect((await call(first)).status).toBe(200); // grace period
    expect((await call(second)).status).toBe(200);
    await page.getByRole('button', { name: 'I have stored it' }).click();

    await page.getByRole('button', { name: 'Disable rotating' }).click();
    await page.getByRole('dialog', { name: 'Disable “rotating”?' }).getByRole('button', { name: 'Disable' }).click();
    await page.locator('li.item', { hasText: 'rotating' }).getByText('disabled', { exact: true }).waitFor();
    expect((await call(second)).status).toBe(401);
    await page.getByRole('button', { name: 'Enable rotating' }).click();
    await page.getByRole('dialog', { name: 'Enable “rotating”?' }).getByRole('button', { name: 'Enable' }).click();
    await page.locator('li.item', { hasText: 'rotating' }).getByText('active', { exact: true }).waitFor();
    expect((await call(second)).status).toBe(200);
  });

  it('a personal access token is listed with the personal tokens and acts without a tenant header', async () => {
    await page.getByLabel('Name', { exact: true }).fill('my laptop');
    await page.getByLabel('Personal access token (acts as you').check();
    await page.getByRole('button', { name: 'Create API key' }).click();
    const key = await page.getByLabel('Secret key').inputValue();
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('region', { name: 'Your personal access tokens' }).locator('.item-title', { hasText: 'my laptop' }).waitFor();
    const orgs = await call(key, '/api/user/organizations');
    expect(orgs.status).toBe(200);
  });

  it('partner: the organization becomes a partner, a client organization is created, a client key acts only there', async () => {
    await page.getByRole('link', { name: 'Partner Experience' }).click();
    await heading(page, 'Partner Experience');
    await page.getByText('is not a partner organization').waitFor();
    await page.getByRole('link', { name: 'Organization', exact: true }).click();
    await page.getByLabel('Type', { exact: true }).selectOption('partner');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Organization saved.').waitFor();

    await page.getByRole('link', { name: 'Partner Experience' }).click();
    await heading(page, 'Partner Experience');
    await page.getByLabel('Client organization name').fill('Acme Client');
    await page.getByRole('button', { name: 'Add client organization' }).click();
    await page.getByText('Acme Client is now a client organization.').waitFor();
    const clientItem = page.getByRole('region', { name: 'Client organizations' }).locator('li.item', { hasText: 'Acme Client' });
    const clientId = (await clientItem.locator('code').textContent())!;

    await page.getByLabel('Key name').fill('acme integration');
    await page.getByLabel('Access').selectOption({ label: 'Client key: only Acme Client' });
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.getByLabel('Secret key').inputValue();
    await check(page, 'partner');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.locator('li.item', { hasText: 'acme integration' }).getByText('Client key: Acme Client').waitFor();

    const there = await call(key, `/api/user/organizations/${clientId}`, { 'x-organization-id': clientId });
    expect(there.status).toBe(200);
    expect(there.body.data.name).toBe('Acme Client');
    const partnerApi = await call(key, '/v2/partner/organizations', { 'x-organization-id': orgId });
    expect(partnerApi.status).toBe(403);
    const partnerOrg = await call(key, `/api/user/organizations/${orgId}`, { 'x-organization-id': orgId });
    expect([403, 404]).toContain(partnerOrg.status);

    // Ending a link, confirmed: the client leaves the portfolio list and the partner API's list.
    await page.getByLabel('Client organization name').fill('Beta Client');
    await page.getByRole('button', { name: 'Add client organization' }).click();
    const clients = page.getByRole('region', { name: 'Client organizations' });
    await clients.locator('li.item', { hasText: 'Beta Client' }).waitFor();
    await page.getByRole('button', { name: 'Remove Beta Client' }).click();
    await page.getByRole('dialog', { name: 'Remove Beta Client from the portfolio?' }).getByRole('button', { name: 'Remove' }).click();
    await clients.locator('li.item', { hasText: 'Beta Client' }).waitFor({ state: 'detached' });
    await clients.locator('li.item', { hasText: 'Acme Client' }).waitFor();
  });

  it('the audit log shows the events of this session, newest first, filtered by type', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await heading(page, 'Audit log');
    const events = page.getByRole('region', { name: 'Events' });
    for (const t of ['user.signed_in', 'api_key.created', 'api_key.revoked', 'api_key.regenerated', 'api_key.updated', 'organization.updated'])
      await events.getByText(t, { exact: true }).first().waitFor();
    const types = await events.locator('li.item .item-title').allTextContents();
    expect(types.indexOf('api_key.created')).toBeLessThan(types.lastIndexOf('user.signed_in')); // newest first
    await check(page, 'audit');
    await page.getByLabel('Event type').selectOption('api_key.revoked');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    // The filtered list has arrived when it shows items and all are of that type (an empty list, while
    // it loads, is not the answer).
    await page.waitForFunction(() => {
      const titles = [...(globalThis as any).document.querySelectorAll('li.item .item-title')];
      return titles.length > 0 && titles.every((e: { textContent: string }) => e.textContent === 'api_key.revoked');
    });
    expect(await events.locator('li.item').count()).toBe(1);
  });

  it('organization switcher: a new organization is selected, its Org ID shown and the orgid cookie follows', async () => {
    await page.getByRole('link', { name: 'Organization', exact: true }).click();
    await page.getByLabel('Name of the new organization').fill('Second Org');
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.getByRole('heading', { level: 2, name: 'Second Org' }).waitFor();
    const second = await orgIdOnPage(page);
    expect(second).not.toBe(orgId);
    expect((await page.context().cookies(s.url)).find((c) => c.name === 'orgid')?.value).toBe(second);
    await page.getByRole('combobox', { name: 'Organization', exact: true }).selectOption(orgId);
    await page.waitForFunction((id) => (globalThis as any).document.getElementById('org-id')?.value === id, orgId);
    expect((await page.context().cookies(s.url)).find((c) => c.name === 'orgid')?.value).toBe(orgId);
  });
});

describe('console: keyboard, narrow screens, every page checked', () => {
  it('signs in and opens and cancels a confirmation with the keyboard only', async () => {
    const email = uniqueEmail('keyboard');
    const u = await signUpAndIn(s.url, 'Keys Board', email);
    await rest(s.url, 'POST', '/api-key/create', { body: { name: 'kb key' }, headers: { cookie: u.cookie, orgid: u.organizationId } });
    const page = await newPage();
    await page.goto(`${s.url}/sign-in`);
    await heading(page, 'Sign in');
    // The page moves focus to its heading (as a page load would); Tab goes on to the first field.
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.tagName)).toBe('H1');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('name'))).toBe('email');
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await heading(page, 'Organization settings');
    await page.goto(`${s.url}/profile`);
    await heading(page, 'Profile');
    await page.getByRole('button', { name: 'Save name' }).focus();
    await page.keyboard.press('Enter');
    await page.getByText('Name saved.').waitFor();

    await page.goto(`${s.url}/api-keys`);
    await heading(page, 'API keys');
    const item = page.locator('li.item', { hasText: 'kb key' });
    await page.getByRole('button', { name: 'Revoke kb key' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Revoke “kb key”?' });
    await dialog.waitFor();
    await page.keyboard.press('Escape'); // cancels
    await dialog.waitFor({ state: 'hidden' });
    await item.getByText('active', { exact: true }).waitFor();
    await page.keyboard.press('Enter'); // focus went back to the button that opened it
    await dialog.waitFor();
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.textContent)).toBe('Revoke for good');
    await page.keyboard.press('Enter');
    await item.getByText('revoked', { exact: true }).waitFor();
  });

  it('every console page at 375 px: no horizontal scrolling, no serious axe violation', async () => {
    const { page } = await signedInPage(uniqueEmail('narrow'), 375);
    for (const [path, title] of [
      ['/organization', 'Organization settings'],
      ['/api-keys', 'API keys'],
      ['/members', 'Members'],
      ['/partner', 'Partner Experience'],
      ['/audit', 'Audit log'],
      ['/profile', 'Profile'],
    ]) {
      await page.goto(s.url + path);
      await heading(page, title);
      await check(page, `narrow${path.replace('/', '-')}`);
      const overflow = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth - (globalThis as any).document.documentElement.clientWidth);
      expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(0);
    }
  });

  it('axe found no serious or critical violation on any page visited', () => {
    expect(visited.size).toBeGreaterThanOrEqual(20);
    expect([...visited].filter(([, v]) => v.length)).toEqual([]);
  });
});
