// The authorization code flow with PKCE, end to end: openid-client is the third-party application,
// Chromium the user's browser, signing in and consenting on the console's pages. The application's
// redirect URI is answered by Playwright (it stands for the application's own server).
import os from 'node:os';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Chromium, checkPage, launch } from '../console/browser.js';
import { PASSWORD, type TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { join, newUser, startWorld, type World } from '../org/fixtures.js';
import { createClient, discover, oauthError } from './helpers.js';

const REDIRECT = 'https://app.example/callback';
let w: World;
let chromium: Chromium;
let admin: TestUser;
let client: { clientId: string; secret: string };
let config: oidc.Configuration;

beforeAll(async () => {
  [w, chromium] = await Promise.all([startWorld(), launch()]);
  admin = await newUser(w, 'Ada Admin');
  client = await createClient(w.server.url, admin, {
    name: 'Acme Dashboard',
    type: 'O_AUTH_CLIENT_TYPE_CONFIDENTIAL',
    redirectUris: [REDIRECT],
    scopes: ['openid', 'email', 'profile', 'offline_access', 'members:read', 'members:write'],
  });
  config = await discover(w.server.url, client.clientId, oidc.ClientSecretBasic(client.secret));
}, 90_000);
afterAll(async () => {
  await chromium?.close();
  await w?.stop();
});

interface Flow {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

async function start(scope = 'openid email profile offline_access members:read'): Promise<Flow> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    resource: w.server.url,
    prompt: 'consent',
  });
  return { url, verifier, state, nonce };
}

/** A browser whose navigations to the application's redirect URI are caught and recorded. */
async function browser(): Promise<{ ctx: BrowserContext; page: Page; callback: () => Promise<URL> }> {
  const ctx = await chromium.context();
  let resolve!: (u: URL) => void;
  let arrived = new Promise<URL>((r) => (resolve = r));
  await ctx.route(`${REDIRECT}**`, (route) => {
    resolve(new URL(route.request().url()));
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><html lang="en"><title>Acme</title><h1>Back at Acme</h1></html>' });
  });
  const page = await ctx.newPage();
  return {
    ctx,
    page,
    callback: async () => {
      const u = await arrived;
      await page.waitForURL((at) => at.href.startsWith(REDIRECT)); // the application's page has loaded
      arrived = new Promise<URL>((r) => (resolve = r));
      return u;
    },
  };
}

const exchange = (f: Flow, callback: URL) => oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: f.verifier, expectedState: f.state, expectedNonce: f.nonce });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

// With no interface but loopback (CI's bare-machine run in a network namespace), Chromium counts
// itself offline and fails the redirect to the application (ERR_INTERNET_DISCONNECTED) before
// Playwright can answer for it; these flows run in the other CI pass, on the host's network.
const offline = Object.values(os.networkInterfaces()).every((addrs) => (addrs ?? []).every((a) => a.internal));

describe.skipIf(offline)('authorization code + PKCE through the console', () => {
  let b: Awaited<ReturnType<typeof browser>>;
  beforeAll(async () => {
    b = await browser();
  });
  afterAll(() => b?.ctx.close());

  test('sign in, consent, tokens; the ID token verifies against the JWKS; the access token works on the API', async () => {
    const f = await start();
    await b.page.goto(f.url.href);
    // Not signed in: the console's sign-in page first, then back to the consent page.
    await b.page.getByLabel('Email', { exact: true }).fill(admin.email);
    await b.page.getByLabel('Password').fill(PASSWORD);
    await b.page.getByRole('button', { name: 'Sign in' }).click();
    await b.page.getByRole('heading', { level: 1, name: 'Allow Acme Dashboard to use your account?' }).waitFor();
    expect(await b.page.getByRole('list', { name: 'Requested access' }).textContent()).toContain('See the members of your organizations');
    expect(await checkPage(b.page, 'oauth-consent')).toEqual([]);
    await b.page.getByRole('button', { name: 'Allow' }).click();
    const cb = await b.callback();
    expect(cb.searchParams.get('code')).toBeTruthy();
    const tokens = await exchange(f, cb);
    expect(tokens.refresh_token).toBeTruthy();
    const jwks = createRemoteJWKSet(new URL(`${w.server.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, jwks, { issuer: w.server.url, audience: client.clientId });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toMatchObject({ sub: admin.userId, email: admin.email, nonce: f.nonce });
    const members = await rest(w.server.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: bearer(tokens.access_token) });
    expect(members.status).toBe(200);
    // Not granted: members:write; and the token is not the user's own sign-in.
    const invite = await rest(w.server.url, 'POST', `/api/user/organizations/${admin.organizationId}/invitations`, {
      headers: bearer(tokens.access_token),
      body: { email: 'x@example.com', role: 'member' },
    });
    expect(invite.status).toBe(403);

    // refresh rotates; the replayed refresh token is refused and ends the grant (reuse detection)
    const next = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(next.refresh_token).toBeTruthy();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(await oauthError(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toBe('invalid_grant');
    expect(await oauthError(oidc.refreshTokenGrant(config, next.refresh_token!))).toBe('invalid_grant');
    const after = await rest(w.server.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: bearer(next.access_token) });
    expect(after.status).toBe(401);
  });

  test('consent is remembered; a reused code is refused and revokes what it issued', async () => {
    // The grant above ended (reuse detection): consent once more, then a second request needs none.
    const f1 = await start();
    await b.page.goto(f1.url.href);
    await b.page.getByRole('button', { name: 'Allow' }).click();
    await exchange(f1, await b.callback());
    const f = await start('openid email members:read');
    const noPrompt = oidc.buildAuthorizationUrl(config, Object.fromEntries([...f.url.searchParams].filter(([k]) => k !== 'prompt')));
    const pages: string[] = [];
    b.page.on('framenavigated', (fr) => pages.push(fr.url()));
    await b.page.evaluate((u) => (globalThis as any).location.assign(u), noPrompt.href); // a navigation from the page, as a link click is
    const cb = await b.callback();
    expect(pages.some((u) => u.includes('/oauth-consent/'))).toBe(false);
    const tokens = await exchange(f, cb);
    expect(await oauthError(exchange(f, cb))).toBe('invalid_grant');
    const r = await rest(w.server.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: bearer(tokens.access_token) });
    expect(r.status).toBe(401);
  });

  test('the profile lists the authorized application and revokes it', async () => {
    const f = await start();
    await b.page.goto(f.url.href);
    await b.page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await exchange(f, await b.callback());
    await b.page.goto(`${w.server.url}/profile`);
    const section = b.page.getByRole('region', { name: 'Authorized applications' });
    await section.getByRole('listitem').filter({ hasText: 'members:read' }).waitFor();
    expect(await checkPage(b.page, 'oauth-grants')).toEqual([]);
    await section.getByRole('button', { name: 'Revoke Acme Dashboard' }).click();
    await b.page.getByRole('button', { name: 'Revoke access' }).click();
    await section.getByText('No application has access to your account.').waitFor();
    const r = await rest(w.server.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: bearer(tokens.access_token) });
    expect(r.status).toBe(401);
    expect(await oauthError(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toBe('invalid_grant');
  });
});

describe.skipIf(offline)('refused with the standard OAuth error', () => {
  const authorize = async (params: Record<string, string>) => {
    const u = new URL(`${w.server.url}/oauth/authorize`);
    for (const [k, v] of Object.entries({ client_id: client.clientId, response_type: 'code', redirect_uri: REDIRECT, scope: 'openid', state: 's1', ...params })) if (v !== '') u.searchParams.set(k, v);
    return fetch(u, { redirect: 'manual' });
  };
  const challenge = () => oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());

  test('a redirect URI that does not match exactly: an error page, no redirect', async () => {
    const r = await authorize({ redirect_uri: `${REDIRECT}/other`, code_challenge: await challenge(), code_challenge_method: 'S256' });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('invalid_redirect_uri');
  });

  test('missing PKCE and plain PKCE: invalid_request to the application', async () => {
    for (const params of [{}, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }] as Record<string, string>[]) {
      const r = await authorize(params);
      expect(r.status).toBe(303);
      const to = new URL(r.headers.get('location')!);
      expect(to.origin + to.pathname).toBe(REDIRECT);
      expect(to.searchParams.get('error')).toBe('invalid_request');
    }
  });

  test('implicit and password grants do not exist', async () => {
    const r = await authorize({ response_type: 'token', code_challenge: await challenge(), code_challenge_method: 'S256' });
    const to = new URL(r.headers.get('location')!);
    expect(new URLSearchParams(to.hash.slice(1)).get('error') ?? to.searchParams.get('error')).toBe('unsupported_response_type');
    expect(await oauthError(oidc.genericGrantRequest(config, 'password', { username: admin.email, password: PASSWORD }))).toBe('unsupported_grant_type');
  });

  test('an expired code: invalid_grant', async () => {
    const b = await browser();
    try {
      const f = await start();
      await b.page.goto(f.url.href);
      await b.page.getByLabel('Email', { exact: true }).fill(admin.email);
      await b.page.getByLabel('Password').fill(PASSWORD);
      await b.page.getByRole('button', { name: 'Sign in' }).click();
      await b.page.getByRole('button', { name: 'Allow' }).click();
      const cb = await b.callback();
      // Codes live 60 s: age this one past its expiry in the store (the provider reads its `exp`).
      await w.server.deps.db.orm.em
        .fork()
        .getConnection()
        .execute(`update oauth_records set payload = jsonb_set(payload, '{exp}', to_jsonb(extract(epoch from now())::int - 1)) where model = 'AuthorizationCode'`);
      expect(await oauthError(exchange(f, cb))).toBe('invalid_grant');
    } finally {
      await b.ctx.close();
    }
  });

  test("a scope the user's role does not allow: invalid_scope to the application", async () => {
    const member = await newUser(w, 'Mia Member');
    await join(w, admin, admin.organizationId, member, 'member');
    const b = await browser();
    try {
      await b.page.goto(`${w.server.url}/sign-in`);
      await b.page.getByLabel('Email', { exact: true }).fill(member.email);
      await b.page.getByLabel('Password').fill(PASSWORD);
      await b.page.getByRole('button', { name: 'Sign in' }).click();
      await b.page.getByRole('heading', { level: 1 }).first().waitFor();
      const f = await start('openid members:write');
      await b.page.goto(f.url.href);
      await b.page.getByLabel('Organization it acts in').selectOption(admin.organizationId);
      await b.page.getByText('Your role does not allow this').waitFor();
      await b.page.getByRole('button', { name: 'Allow' }).click();
      const cb = await b.callback();
      expect(cb.searchParams.get('error')).toBe('invalid_scope');
    } finally {
      await b.ctx.close();
    }
  });
});
