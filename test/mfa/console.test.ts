// The console in Chromium: passkeys through Chromium's virtual authenticator (CDP
// WebAuthn.addVirtualAuthenticator) — added on the two-factor page, then used as the sign-in's
// second factor and for a passwordless sign-in — and one policy: a member the organization requires
// a second factor of is sent to enrol at sign-in, enrols TOTP from the QR page, and is let in.
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chromium, launch } from '../console/browser.js';
import { PASSWORD, type TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { join, newUser, session, startWorld, type World } from '../org/fixtures.js';
import { codeAt, enrolTotp } from './helpers.js';

let w: World;
let chrome: Chromium;
let origin: string;
beforeAll(async () => {
  w = await startWorld();
  // A WebAuthn RP ID must be a domain name, not an IP address: the console is served as localhost.
  origin = w.server.url.replace('127.0.0.1', 'localhost');
  w.server.config.publicUrl = origin;
  chrome = await launch();
});
afterAll(async () => {
  await chrome?.close();
  await w?.stop();
});

async function withAuthenticator(ctx: BrowserContext): Promise<Page> {
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return page;
}

/** Runs in the page: StartPasskeyStepUp, the WebAuthn assertion, StepUp — over the console's own origin and cookie. */
async function stepUpWithPasskey(): Promise<{ status: number }> {
  const b64 = (buf: ArrayBuffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buf)))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  const unb64 = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const post = (path: string, body: unknown) => fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'include' });
  const o: any = ((await (await post('/api/user/mfa/step-up/options', {})).json()) as any).data;
  const opts = JSON.parse(o.optionsJson);
  // The test runs without DOM types: the WebAuthn objects are typed loosely here.
  const cred: any = await (globalThis as any).navigator.credentials.get({
    publicKey: {
      challenge: unb64(opts.challenge),
      rpId: opts.rpId,
      allowCredentials: opts.allowCredentials.map((c: { id: string }) => ({ type: 'public-key', id: unb64(c.id) })),
      userVerification: opts.userVerification,
    },
  });
  const r = cred.response;
  const json = {
    id: cred.id,
    rawId: b64(cred.rawId),
    type: cred.type,
    clientExtensionResults: {},
    response: { clientDataJSON: b64(r.clientDataJSON), authenticatorData: b64(r.authenticatorData), signature: b64(r.signature), userHandle: r.userHandle ? b64(r.userHandle) : undefined },
  };
  const res = await post('/api/user/mfa/step-up', { challengeToken: o.challengeToken, passkeyResponseJson: JSON.stringify(json) });
  return { status: res.status };
}

async function passwordStep(page: Page, email: string) {
  await page.goto(`${origin}/sign-in`);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

describe('console', () => {
  it('passkeys: add one, then sign in with it as a second factor and without a password', async () => {
    const u = await newUser(w, 'Pia');
    const ctx = await chrome.context();
    const page = await withAuthenticator(ctx);
    await passwordStep(page, u.email);
    await page.waitForURL(/\/organization$/);
    await page.goto(`${origin}/two-factor`);
    await page.getByLabel('Name for the new passkey').fill('Laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByText('Passkey added.').waitFor();
    await page.getByRole('cell', { name: 'Laptop', exact: true }).waitFor();
    const listed = await rest(w.server.url, 'GET', '/api/user/mfa/passkeys', { headers: session(u) });
    expect(listed.body.data.passkeys.map((p: { name: string }) => p.name)).toEqual(['Laptop']);

    // Second factor: the password alone now leads to the challenge step.
    await ctx.clearCookies();
    await passwordStep(page, u.email);
    await page.getByRole('heading', { level: 1, name: 'Two-factor authentication' }).waitFor();
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(/\/organization$/);

    // Passwordless: the discoverable credential names its user.
    await ctx.clearCookies();
    await page.goto(`${origin}/sign-in`);
    await page.getByRole('button', { name: 'Continue with a passkey' }).click();
    await page.waitForURL(/\/organization$/);
    // Step-up with the passkey (the page's own fetch and navigator.credentials), then a removal it allows.
    w.server.clock.advance(11 * 60);
    try {
      const stepped = await page.evaluate(stepUpWithPasskey);
      expect(stepped.status).toBe(200);
      const cookie = (await ctx.cookies()).find((c) => c.name === 'latchkey_session')!;
      const id = listed.body.data.passkeys[0].id;
      const removed = await rest(w.server.url, 'DELETE', `/api/user/mfa/passkeys/${id}`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
      expect(removed.status).toBe(200);
    } finally {
      w.server.clock.advance(-11 * 60);
    }
    const events = await rest(w.server.url, 'GET', `/api/user/organizations/${u.organizationId}/audit-events`, { headers: session(u) });
    const types = events.body.data.auditEvents.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['mfa.passkey_added', 'mfa.stepped_up', 'mfa.passkey_removed']));
    const methods = events.body.data.auditEvents.filter((e: { type: string }) => e.type === 'user.signed_in').map((e: { metadata: { method: string } }) => e.metadata.method);
    expect(methods).toContain('passkey');
    await ctx.close();
  });

  it('policy: a member required to have a second factor is sent to enrol, enrols TOTP by QR code, and is let in', async () => {
    const admin = await newUser(w, 'Ada');
    const member: TestUser = await newUser(w, 'Max');
    await join(w, admin, admin.organizationId, member, 'member');
    // The admin (who has TOTP: nobody may require what they lack) signs in with both factors and
    // sets the policy on the console's policy page.
    const { secret: adminSecret } = await enrolTotp(w.server, admin.cookie);
    const actx = await chrome.context();
    const apage = await actx.newPage();
    await passwordStep(apage, admin.email);
    await apage.getByLabel('Code from your authenticator app, or a recovery code').fill(codeAt(w.server, adminSecret, 1));
    await apage.getByRole('button', { name: 'Verify' }).click();
    await apage.waitForURL(/\/organization$/);
    await apage.goto(`${origin}/security-policy`);
    await apage.getByLabel('Require a second factor').selectOption('all');
    await apage.getByRole('button', { name: 'Save policy' }).click();
    await apage.getByText('Policy saved.').waitFor();
    await actx.close();
    const denied = await rest(w.server.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: session(member) });
    expect(denied.body.reason).toBe('SECOND_FACTOR_ENROLMENT_REQUIRED');

    const ctx = await chrome.context();
    const page = await ctx.newPage();
    await passwordStep(page, member.email);
    await page.waitForURL(/\/two-factor\?required=1$/);
    await page.getByText('requires a second factor').waitFor();
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
    const secret = (await page.getByTestId('totp-secret').textContent()) ?? '';
    await page.getByLabel('6-digit code').fill(codeAt(w.server, secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').count()).toBe(10);
    const allowed = await rest(w.server.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: session(member) });
    expect(allowed.status).toBe(200);
    await ctx.close();
  });
});
