// OIDC SSO end to end: an organization's admin connects its IdP and proves its domain over DNS;
// people at that domain are routed to the IdP, provisioned into the organization and signed in.
// Against a stub issuer over plain HTTP (every ID-token check refused once), and against a real
// oidc-provider in Chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chromium, launch } from '../console/browser.js';
import { PASSWORD, signUpAndIn, type TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { ssoApi, startDns, startOidcProvider, startStubIssuer, type TokenTamper, uniqueDomain } from './fixtures.js';

let s: TestServer;
let dns: Awaited<ReturnType<typeof startDns>>;
let stub: Awaited<ReturnType<typeof startStubIssuer>>;
let admin: TestUser;
let api: ReturnType<typeof ssoApi>;
let connectionId: string;
const domain = uniqueDomain('oidc');

beforeAll(async () => {
  dns = await startDns();
  stub = await startStubIssuer();
  s = await startServer({ env: { DNS_SERVERS: dns.server, SSO_ALLOW_INSECURE_IDP: 'true' } });
  admin = await signUpAndIn(s.url, 'Org Admin');
  api = ssoApi(s.url, admin.cookie, admin.organizationId);
  const created = await api.create({ kind: 'SSO_KIND_OIDC', name: 'Stub IdP', oidc: { issuer: stub.issuer, clientId: stub.client_id, clientSecret: stub.client_secret } });
  expect(created.status).toBe(200);
  connectionId = created.body.data.id;
}, 60_000);

afterAll(async () => {
  await s?.stop();
  await stub?.close();
  await dns?.close();
});

const cookiesOf = (r: Response) =>
  r.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');

/** start → IdP authorize → callback, following redirects by hand over plain HTTP. */
async function flow(startUrl: string, keepCookie = true): Promise<Response> {
  const start = await fetch(startUrl, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const authorize = await fetch(start.headers.get('location')!, { redirect: 'manual' });
  expect(authorize.status).toBe(302);
  return fetch(authorize.headers.get('location')!, { redirect: 'manual', headers: keepCookie ? { cookie: cookiesOf(start) } : {} });
}

describe('connections and domains', () => {
  it('shows the connection without its secret, with the redirect URI to register', async () => {
    const got = await api.get(connectionId);
    expect(got.status).toBe(200);
    expect(got.body.data.oidc).toMatchObject({
      issuer: stub.issuer,
      clientId: stub.client_id,
      clientSecret: '',
      clientSecretSet: true,
      scopes: ['openid', 'email', 'profile'],
      redirectUri: `${s.url}/api/sso/oidc/callback`,
    });
    expect(JSON.stringify(got.body)).not.toContain(stub.client_secret);
    const [row] = await s.deps.db.orm.em.fork().getConnection().execute('select secret_sealed from sso_connections where id = ?', [connectionId]);
    expect(row.secret_sealed).toMatch(/^v1\./);
    expect(row.secret_sealed).not.toContain(stub.client_secret);
  });

  it('refuses bad input with 400 naming the field, members with 403, strangers with 404', async () => {
    const noIssuer = await api.create({ kind: 'SSO_KIND_OIDC', name: 'x', oidc: { clientId: 'a', clientSecret: 'b' } });
    expect(noIssuer.status).toBe(400);
    expect(noIssuer.body.message).toContain('oidc.issuer');
    const noKind = await api.create({ name: 'x' });
    expect(noKind.status).toBe(400);
    expect(noKind.body.code).toBe('VALIDATION_ERROR');
    const other = await signUpAndIn(s.url, 'Stranger');
    const foreign = await rest(s.url, 'GET', `/api/organizations/${admin.organizationId}/sso/connections/${connectionId}`, { headers: { cookie: other.cookie } });
    expect(foreign.status).toBe(404);
    const own = await rest(s.url, 'GET', `/api/organizations/${other.organizationId}/sso/connections/${connectionId}`, { headers: { cookie: other.cookie } });
    expect(own.status).toBe(404);
  });

  it('verifies a domain only once its TXT record is published on the DNS server', async () => {
    const added = await api.addDomain(connectionId, domain);
    expect(added.status).toBe(200);
    const { txtRecordName, txtRecordValue, verified } = added.body.data;
    expect(verified).toBe(false);
    expect(txtRecordName).toBe(`_latchkey-challenge.${domain}`);
    const early = await api.verify(connectionId, domain);
    expect(early.status).toBe(400);
    expect(early.body.reason).toBe('SSO_DOMAIN_UNVERIFIED');
    expect(early.body.message).toContain(txtRecordName);
    // Unverified: the domain does not route yet.
    expect((await rest(s.url, 'POST', '/api/sso/lookup', { body: { email: `a@${domain}` } })).body.data.sso).toBe(false);
    dns.records.set(txtRecordName, ['unrelated', txtRecordValue]);
    const ok = await api.verify(connectionId, domain);
    expect(ok.status).toBe(200);
    expect(ok.body.data.verified).toBe(true);
    const dup = await api.addDomain(connectionId, domain);
    expect(dup.status).toBe(409);
    const audit = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/audit-events`, { headers: { cookie: admin.cookie } });
    const types = audit.body.data.auditEvents.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['sso.connection_created', 'sso.domain_added', 'sso.domain_verified']));
    expect(JSON.stringify(audit.body)).not.toContain(stub.client_secret);
  });
});

describe('sign-in through the IdP (plain HTTP)', () => {
  it('routes the email: lookup and SignIn without a password answer with the start URL', async () => {
    const email = `ada@${domain}`;
    const lookup = await rest(s.url, 'POST', '/api/sso/lookup', { body: { email } });
    expect(lookup.body.data).toMatchObject({ sso: true, connectionName: 'Stub IdP', ssoRequired: false });
    expect(lookup.body.data.redirectUrl).toBe(`${s.url}/api/sso/${connectionId}/start?login_hint=${encodeURIComponent(email)}`);
    const signIn = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email } });
    expect(signIn.status).toBe(200);
    expect(signIn.body.data.ssoRedirectUrl).toBe(lookup.body.data.redirectUrl);
    expect(signIn.headers.get('set-cookie')).toBeNull();
    expect((await rest(s.url, 'POST', '/api/sso/lookup', { body: { email: 'ada@elsewhere.test' } })).body.data.sso).toBe(false);
  });

  it('provisions a new person into the organization with the default role and starts a session', async () => {
    stub.state.tamper = 'none';
    stub.state.email = `grace@${domain}`;
    const cb = await flow(`${s.url}/api/sso/${connectionId}/start?login_hint=${stub.state.email}`);
    expect(cb.status).toBe(302);
    expect(cb.headers.get('location')).toBe(`${s.url}/`);
    const session = cookiesOf(cb);
    expect(session).toMatch(/latchkey_session=[\w-]+/);
    const me = await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: session } });
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ email: stub.state.email, isVerified: true });
    const members = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: { cookie: admin.cookie } });
    expect(members.body.data.members).toEqual(expect.arrayContaining([expect.objectContaining({ email: stub.state.email, role: 'member' })]));
    const audit = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/audit-events?type=sso.signed_in`, { headers: { cookie: admin.cookie } });
    expect(audit.body.data.auditEvents.length).toBeGreaterThan(0);
    // Joined as any member joins: member.added (what webhooks send), saying how.
    const joinedAs = async () => {
      const r = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/audit-events?type=member.added`, { headers: { cookie: admin.cookie } });
      return r.body.data.auditEvents.filter((e: { targetId: string }) => e.targetId === me.body.data.id);
    };
    expect(await joinedAs()).toEqual([expect.objectContaining({ metadata: { role: 'member', via: 'sso', connectionId } })]);
    // Second sign-in: same account, no second membership, no second member.added.
    const again = await flow(`${s.url}/api/sso/${connectionId}/start`);
    expect(again.status).toBe(302);
    const after = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: { cookie: admin.cookie } });
    expect(after.body.data.members.filter((m: { email: string }) => m.email === stub.state.email)).toHaveLength(1);
    expect(await joinedAs()).toHaveLength(1);
  });

  const refusals: [TokenTamper, string][] = [
    ['nonce', 'wrong nonce'],
    ['aud', 'wrong audience'],
    ['iss', 'wrong issuer'],
    ['expired', 'expired'],
    ['alg-none', 'unsigned (alg none)'],
    ['other-key', 'signed by another key'],
  ];
  it.each(refusals)('refuses an ID token with %s (%s): 401 page, no session', async (tamper) => {
    stub.state.tamper = tamper;
    stub.state.email = `eve-${tamper}@${domain}`;
    const cb = await flow(`${s.url}/api/sso/${connectionId}/start`);
    expect(cb.status).toBe(401);
    expect(await cb.text()).toContain('Single sign-on failed');
    expect(cb.headers.getSetCookie().some((c) => c.startsWith('latchkey_session='))).toBe(false);
    stub.state.tamper = 'none';
  });

  it('refuses a callback in a browser that did not start the sign-in', async () => {
    stub.state.email = `mallory@${domain}`;
    const cb = await flow(`${s.url}/api/sso/${connectionId}/start`, false);
    expect(cb.status).toBe(401);
    expect(await cb.text()).toContain('did not start the sign-in');
  });

  it('refuses an email outside the connection’s verified domains (no takeover of other accounts)', async () => {
    stub.state.email = admin.email;
    const cb = await flow(`${s.url}/api/sso/${connectionId}/start`);
    expect(cb.status).toBe(401);
    expect(await cb.text()).toContain('not at a verified domain');
  });

  it('"SSO required" refuses password sign-in, sign-up and magic links with where to go', async () => {
    const email = `linus@${domain}`;
    expect((await rest(s.url, 'POST', '/api/auth/sign-up/email', { body: { email, password: PASSWORD, name: 'Linus' } })).status).toBe(200);
    expect((await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: PASSWORD } })).status).toBe(200);
    expect((await api.updateDomain(connectionId, domain, true)).status).toBe(200);
    const refused = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: PASSWORD } });
    expect(refused.status).toBe(403);
    expect(refused.body.reason).toBe('SSO_REQUIRED');
    expect(refused.body.message).toContain(`${s.url}/api/sso/${connectionId}/start`);
    const signUp = await rest(s.url, 'POST', '/api/auth/sign-up/email', { body: { email: `newcomer@${domain}`, password: PASSWORD, name: 'N' } });
    expect(signUp.status).toBe(403);
    expect(signUp.body.reason).toBe('SSO_REQUIRED');
    const magic = await rest(s.url, 'POST', '/api/auth/magic-link', { body: { email } });
    expect(magic.status).toBe(403);
    expect(magic.body.reason).toBe('SSO_REQUIRED');
    // Other domains are untouched.
    expect((await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email: admin.email, password: PASSWORD } })).status).toBe(200);
    expect((await api.updateDomain(connectionId, domain, false)).status).toBe(200);
    expect((await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: PASSWORD } })).status).toBe(200);
  });
});

describe('sign-in through a real OpenID provider in Chromium', () => {
  let op: Awaited<ReturnType<typeof startOidcProvider>>;
  let chromium: Chromium;
  const opDomain = uniqueDomain('op');

  beforeAll(async () => {
    op = await startOidcProvider(`${s.url}/api/sso/oidc/callback`);
    chromium = await launch();
  });
  afterAll(async () => {
    await chromium?.close();
    await op?.close();
  });

  it('start → IdP login and consent → the console, signed in and provisioned', async () => {
    const created = await api.create({ kind: 'SSO_KIND_OIDC', name: 'Customer IdP', defaultRole: 'admin', oidc: { issuer: op.issuer, clientId: op.client_id, clientSecret: op.client_secret } });
    expect(created.status).toBe(200);
    const id = created.body.data.id;
    const added = await api.addDomain(id, opDomain);
    dns.records.set(added.body.data.txtRecordName, [added.body.data.txtRecordValue]);
    expect((await api.verify(id, opDomain)).status).toBe(200);
    const email = `hopper@${opDomain}`;
    const ctx = await chromium.context();
    const page = await ctx.newPage();
    await page.goto(`${s.url}/api/sso/${id}/start?login_hint=${encodeURIComponent(email)}`);
    await page.locator('input[name="login"]').fill(email);
    await page.locator('input[name="password"]').fill('anything');
    await page.locator('button[type="submit"]').click();
    await page.locator('button[type="submit"]').click(); // consent
    await page.getByRole('heading', { level: 1, name: 'Organization settings' }).waitFor();
    expect(new URL(page.url()).origin).toBe(s.url);
    const cookie = (await ctx.cookies(s.url)).find((c) => c.name === 'latchkey_session');
    expect(cookie?.httpOnly).toBe(true);
    const members = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: { cookie: admin.cookie } });
    expect(members.body.data.members).toEqual(expect.arrayContaining([expect.objectContaining({ email, role: 'admin' })]));
    await ctx.close();
  }, 60_000);
});
