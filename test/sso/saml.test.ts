// SAML SSO end to end against a samlify IdP started in the test: metadata import, SP metadata,
// the redirect → POST flow over plain HTTP and in Chromium, and every refused response: tampered,
// unsigned, expired, replayed, wrong audience, wrong recipient, unsolicited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch } from '../console/browser.js';
import { signUpAndIn, type TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { ssoApi, startDns, startSamlIdp, uniqueDomain } from './fixtures.js';

let s: TestServer;
let dns: Awaited<ReturnType<typeof startDns>>;
let idp: Awaited<ReturnType<typeof startSamlIdp>>;
let admin: TestUser;
let api: ReturnType<typeof ssoApi>;
let id: string;
let acs: string;
let entityId: string;
const domain = uniqueDomain('saml');

beforeAll(async () => {
  dns = await startDns();
  idp = await startSamlIdp();
  s = await startServer({ env: { DNS_SERVERS: dns.server, SSO_ALLOW_INSECURE_IDP: 'true' } });
  admin = await signUpAndIn(s.url, 'Org Admin');
  api = ssoApi(s.url, admin.cookie, admin.organizationId);
}, 60_000);

afterAll(async () => {
  await s?.stop();
  await idp?.close();
  await dns?.close();
});

const cookiesOf = (r: Response) =>
  r.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');

/** Latchkey's AuthnRequest URL (the redirect to the IdP). */
async function authnRequest(): Promise<string> {
  const start = await fetch(`${s.url}/api/sso/${id}/start`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const to = start.headers.get('location')!;
  expect(to.startsWith(idp.ssoUrl)).toBe(true);
  return to;
}

const post = (samlResponse: string) =>
  fetch(acs, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLResponse: samlResponse }).toString() });
const xmlOf = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const b64Of = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');

async function expectRefused(r: Response, text: string) {
  expect(r.status).toBe(401);
  const body = await r.text();
  expect(body).toContain('Single sign-on failed');
  expect(body).toContain(text);
  expect(r.headers.getSetCookie().some((c) => c.startsWith('latchkey_session='))).toBe(false);
}

describe('SAML connection', () => {
  it('imports the IdP metadata and publishes SP metadata that asks for signed assertions', async () => {
    const bad = await api.create({ kind: 'SSO_KIND_SAML', name: 'x', saml: { idpMetadataXml: '<nope' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('saml.idp_metadata_xml');
    const created = await api.create({ kind: 'SSO_KIND_SAML', name: 'Samlify IdP', saml: { idpMetadataXml: idp.metadata() } });
    expect(created.status).toBe(200);
    const c = created.body.data;
    id = c.id;
    expect(c.saml).toMatchObject({ idpEntityId: idp.entityId, idpSsoUrl: idp.ssoUrl, acsUrl: `${s.url}/api/sso/saml/${id}/acs`, metadataUrl: `${s.url}/api/sso/saml/${id}/metadata` });
    expect(c.saml.idpCertificate).toContain('BEGIN CERTIFICATE');
    acs = c.saml.acsUrl;
    entityId = c.saml.spEntityId;
    const md = await fetch(c.saml.metadataUrl);
    expect(md.status).toBe(200);
    const xml = await md.text();
    expect(xml).toContain(`entityID="${entityId}"`);
    expect(xml).toContain('WantAssertionsSigned="true"');
    expect(xml).toContain(acs);
    idp.trust(entityId, acs);
    const added = await api.addDomain(id, domain);
    dns.records.set(added.body.data.txtRecordName, [added.body.data.txtRecordValue]);
    expect((await api.verify(id, domain)).status).toBe(200);
  });

  it('signs in over plain HTTP: AuthnRequest → signed Response → session, provisioned as member', async () => {
    const email = `ada@${domain}`;
    const { samlResponse } = await idp.respond(await authnRequest(), email);
    const r = await post(samlResponse);
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe(`${s.url}/`);
    const me = await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: cookiesOf(r) } });
    expect(me.body.data).toMatchObject({ email, isVerified: true });
    const members = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/members`, { headers: { cookie: admin.cookie } });
    expect(members.body.data.members).toEqual(expect.arrayContaining([expect.objectContaining({ email, role: 'member' })]));
    // The same response again: replay refused (request id spent, assertion id remembered).
    await expectRefused(await post(samlResponse), '');
  });

  it('refuses a replayed assertion id even under a fresh request', async () => {
    const email = `replay@${domain}`;
    const first = await idp.respond(await authnRequest(), email, {});
    expect((await post(first.samlResponse)).status).toBe(302);
    const assertionId = /<saml:Assertion[^>]*\bID="([^"]+)"/.exec(xmlOf(first.samlResponse))![1];
    // A new, validly signed response that reuses the assertion id (an IdP bug or a copied assertion).
    const second = await idp.respond(await authnRequest(), email, { assertionId });
    await expectRefused(await post(second.samlResponse), 'already used');
  });

  it('refuses a tampered assertion (signature no longer matches)', async () => {
    const { samlResponse } = await idp.respond(await authnRequest(), `bob@${domain}`);
    const tampered = xmlOf(samlResponse).replace(`bob@${domain}`, `root@${domain}`);
    await expectRefused(await post(b64Of(tampered)), 'signature');
  });

  it('refuses an unsigned response (signatures stripped)', async () => {
    const { samlResponse } = await idp.respond(await authnRequest(), `carol@${domain}`);
    const unsigned = xmlOf(samlResponse).replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/g, '');
    expect(unsigned).not.toContain('Signature');
    await expectRefused(await post(b64Of(unsigned)), 'signature');
  });

  it('refuses a response whose assertion is not signed (only the message is)', async () => {
    const { samlResponse } = await idp.respond(await authnRequest(), `dan@${domain}`, undefined, idp.unsignedAssertionsSp(entityId, acs));
    await expectRefused(await post(samlResponse), 'signature');
  });

  it('refuses an expired assertion (beyond the clock-skew bound)', async () => {
    const { samlResponse } = await idp.respond(await authnRequest(), `erin@${domain}`, { notOnOrAfter: new Date(Date.now() - 5 * 60_000) });
    await expectRefused(await post(samlResponse), 'expired');
  });

  it('accepts an assertion that expired within the clock-skew bound (60 s)', async () => {
    const { samlResponse } = await idp.respond(await authnRequest(), `skew@${domain}`, { notOnOrAfter: new Date(Date.now() - 20_000) });
    expect((await post(samlResponse)).status).toBe(302);
  });

  it('refuses an assertion for another audience or another recipient', async () => {
    const aud = await idp.respond(await authnRequest(), `frank@${domain}`, { audience: 'https://other-sp.example/metadata' });
    await expectRefused(await post(aud.samlResponse), 'audience');
    const rcpt = await idp.respond(await authnRequest(), `gina@${domain}`, { recipient: 'https://other-sp.example/acs' });
    await expectRefused(await post(rcpt.samlResponse), 'recipient');
  });

  it('with "signed responses" configured, refuses a response whose envelope is not signed', async () => {
    const on = await api.update(id, { saml: { wantResponseSigned: true } });
    expect(on.status).toBe(200);
    expect(on.body.data.saml).toMatchObject({ wantResponseSigned: true, idpSsoUrl: idp.ssoUrl });
    const { samlResponse } = await idp.respond(await authnRequest(), `signed@${domain}`);
    await expectRefused(await post(samlResponse), 'signature');
    // Changing another setting keeps the flag.
    const other = await api.update(id, { saml: { idpSsoUrl: idp.ssoUrl } });
    expect(other.body.data.saml.wantResponseSigned).toBe(true);
    expect((await api.update(id, { saml: { wantResponseSigned: false } })).body.data.saml.wantResponseSigned).toBe(false);
    const audit = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/audit-events?type=sso.connection_updated`, { headers: { cookie: admin.cookie } });
    expect(audit.body.data.auditEvents[0].metadata).toEqual({ changed: ['saml.wantResponseSigned'] });
  });

  it('refuses an email outside the verified domains, and a malformed post', async () => {
    const { samlResponse } = await idp.respond(await authnRequest(), 'victim@elsewhere.test');
    await expectRefused(await post(samlResponse), 'not at a verified domain');
    const garbage = await post('not-base64-xml');
    expect(garbage.status).toBe(401);
    const noForm = await fetch(acs, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(noForm.status).toBe(400);
  });

  it('full redirect flow in Chromium: start → IdP → POST to the ACS → the console', async () => {
    const chromium = await launch();
    try {
      const ctx = await chromium.context();
      const page = await ctx.newPage();
      idp.st.email = `hopper@${domain}`;
      await page.goto(`${s.url}/api/sso/${id}/start`);
      await page.getByRole('button', { name: 'Continue to Latchkey' }).click();
      await page.getByRole('heading', { level: 1, name: 'Organization settings' }).waitFor();
      expect(new URL(page.url()).origin).toBe(s.url);
      const me = (await page.evaluate(async () => (await fetch('/api/user/me')).json())) as { data: { email: string } };
      expect(me.data.email).toBe(`hopper@${domain}`);
      await ctx.close();
    } finally {
      await chromium.close();
    }
  }, 60_000);
});
