// The customer's side of SSO, started in the test: a DNS server answering the domain challenge
// (dns2), an OpenID provider (oidc-provider), a hand-rolled OIDC issuer that signs whatever ID
// token a negative test needs, and a SAML IdP (samlify in its IdP role) with a fresh key pair.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import dns2 from 'dns2';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import Provider from 'oidc-provider';
import { rest } from '../helpers/clients.js';

export const uniqueDomain = (tag = 'acme') => `${tag}-${randomBytes(4).toString('hex')}.test`;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const closeServer = (server: http.Server) =>
  new Promise<void>((ok) => {
    server.closeAllConnections();
    server.close(() => ok());
  });

/** A DNS server on a UDP port: TXT records set by the test, everything else empty. */
export async function startDns() {
  const records = new Map<string, string[]>();
  const { Packet } = dns2;
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const [q] = request.questions;
      if (q && q.type === Packet.TYPE.TXT) {
        for (const data of records.get(q.name.toLowerCase()) ?? []) response.answers.push({ name: q.name, type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 1, data } as never);
      }
      send(response);
    },
  });
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  return {
    server: `127.0.0.1:${addresses.udp!.port}`,
    records,
    close: () => server.close(),
  };
}

/** The customer's OpenID provider: any login name at the dev login form becomes that email. */
export async function startOidcProvider(redirectUri: string) {
  const server = http.createServer();
  const issuer = await listen(server);
  const client = { client_id: `latchkey-${randomBytes(4).toString('hex')}`, client_secret: randomBytes(24).toString('base64url') };
  const provider = new Provider(issuer, {
    clients: [{ ...client, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, email: id, email_verified: true, name: `IdP ${id.split('@')[0]}` }) }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: [randomBytes(16).toString('hex')] },
  });
  server.on('request', provider.callback());
  return { issuer, ...client, close: () => closeServer(server) };
}

export type TokenTamper = 'none' | 'nonce' | 'aud' | 'iss' | 'expired' | 'alg-none' | 'other-key';

/** An OIDC issuer whose token endpoint signs the ID token the test asks for (to prove each check refuses). */
export async function startStubIssuer() {
  const server = http.createServer();
  const issuer = await listen(server);
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const client = { client_id: 'stub-client', client_secret: 'stub-secret-0123456789' };
  const state = { tamper: 'none' as TokenTamper, email: '', nonces: new Map<string, string>() };
  server.on('request', async (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, body: unknown) => (res.writeHead(status, { 'content-type': 'application/json' }), res.end(JSON.stringify(body)));
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
      });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const code = randomBytes(16).toString('base64url');
      state.nonces.set(code, url.searchParams.get('nonce') ?? '');
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const code = new URLSearchParams(body).get('code') ?? '';
      const nonce = state.nonces.get(code);
      if (nonce === undefined) return json(400, { error: 'invalid_grant' });
      state.nonces.delete(code);
      const t = state.tamper;
      const now = Math.floor(Date.now() / 1000);
      const claims = { email: state.email, email_verified: true, name: 'Stub Person', nonce: t === 'nonce' ? 'not-the-nonce' : nonce };
      let idToken: string;
      if (t === 'alg-none') {
        const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
        idToken = `${b64({ alg: 'none' })}.${b64({ ...claims, iss: issuer, aud: client.client_id, sub: 's1', iat: now, exp: now + 300 })}.`;
      } else {
        idToken = await new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setIssuer(t === 'iss' ? 'https://evil.example' : issuer)
          .setAudience(t === 'aud' ? 'someone-else' : client.client_id)
          .setSubject('s1')
          .setIssuedAt(t === 'expired' ? now - 7200 : now)
          .setExpirationTime(t === 'expired' ? now - 3600 : now + 300)
          .sign(t === 'other-key' ? other.privateKey : privateKey);
      }
      return json(200, { access_token: randomBytes(16).toString('base64url'), token_type: 'Bearer', expires_in: 300, id_token: idToken });
    }
    res.writeHead(404).end();
  });
  return { issuer, ...client, state, close: () => closeServer(server) };
}

const OPENSSL = process.env.OPENSSL ?? 'openssl';

/** A throwaway RSA key and self-signed certificate for the SAML IdP. */
function keyPair(): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-saml-'));
  try {
    execFileSync(OPENSSL, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=test-idp', '-days', '2', '-keyout', `${dir}/k.pem`, '-out', `${dir}/c.pem`], { stdio: 'ignore' });
    return { key: readFileSync(`${dir}/k.pem`, 'utf8'), cert: readFileSync(`${dir}/c.pem`, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// samlify's typings pull in the DOM lib (which changes fetch's types for every test file): load it untyped.
const require = createRequire(import.meta.url);
const samlify = require('samlify');
// samlify needs an XML schema validator; the test IdP only produces its own documents, so none.
samlify.setSchemaValidator({ validate: async () => 'skipped' });
const { binding } = samlify.Constants.namespace;
type SamlSp = ReturnType<typeof samlify.ServiceProvider>;

interface SamlTweak {
  audience?: string;
  recipient?: string;
  notOnOrAfter?: Date;
  nameId?: string;
  assertionId?: string;
}

/** The customer's SAML IdP (samlify): answers an AuthnRequest with a signed Response for `email`. */
export async function startSamlIdp() {
  const server = http.createServer();
  const base = await listen(server);
  const { key, cert } = keyPair();
  const idp = samlify.IdentityProvider({
    entityID: `${base}/metadata`,
    privateKey: key,
    signingCert: cert,
    isAssertionEncrypted: false,
    nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'],
    singleSignOnService: [{ Binding: binding.redirect, Location: `${base}/sso` }],
  });
  const acsOf = new WeakMap<SamlSp, string>();
  const sp = (entityID: string, acs: string, wantAssertionsSigned = true): SamlSp => {
    const made = samlify.ServiceProvider({ entityID, assertionConsumerService: [{ Binding: binding.post, Location: acs }], wantAssertionsSigned, wantMessageSigned: false });
    acsOf.set(made, acs);
    return made;
  };
  let spFor: SamlSp | undefined;
  const st = { email: '' };

  /** The SAMLResponse (base64) for a redirect-binding AuthnRequest URL; `tweak` builds a bad one. */
  async function respond(requestUrl: string, email: string, tweak?: SamlTweak, target = spFor!): Promise<{ samlResponse: string; acs: string }> {
    const u = new URL(requestUrl);
    const info = await idp.parseLoginRequest(target, 'redirect', { query: Object.fromEntries(u.searchParams), octetString: '' } as never);
    const replace = tweak
      ? (template: string) => {
          const now = new Date();
          const later = tweak.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000);
          const id = `_${randomBytes(16).toString('hex')}`;
          const acs = acsOf.get(target)!;
          const values = {
            ID: id,
            AssertionID: tweak.assertionId ?? `_${randomBytes(16).toString('hex')}`,
            Destination: acs,
            Audience: tweak.audience ?? target.entityMeta.getEntityID(),
            EntityID: target.entityMeta.getEntityID(),
            SubjectRecipient: tweak.recipient ?? acs,
            Issuer: idp.entityMeta.getEntityID(),
            IssueInstant: (tweak.notOnOrAfter ? new Date(later.getTime() - 10 * 60_000) : now).toISOString(),
            AssertionConsumerServiceURL: acs,
            StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
            ConditionsNotBefore: (tweak.notOnOrAfter ? new Date(later.getTime() - 10 * 60_000) : now).toISOString(),
            ConditionsNotOnOrAfter: later.toISOString(),
            SubjectConfirmationDataNotOnOrAfter: later.toISOString(),
            NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
            NameID: tweak.nameId ?? email,
            InResponseTo: info.extract.request.id,
            AuthnStatement: '',
            AttributeStatement: '',
          };
          // samlify's plain template has no Recipient or Destination: put them where a real IdP does.
          const context = (samlify.SamlLib.replaceTagsByValue(template, values) as string)
            .replace(/<saml:SubjectConfirmationData(?![^>]*Recipient=)/, `<saml:SubjectConfirmationData Recipient="${values.SubjectRecipient}"`)
            .replace(/<samlp:Response(?![^>]*Destination=)/, `<samlp:Response Destination="${acs}"`);
          return { id, context };
        }
      : undefined;
    const r = await idp.createLoginResponse(target, info, 'post', { email }, replace);
    return { samlResponse: r.context, acs: r.entityEndpoint };
  }

  // The browser leg: a page with a form that posts the response to the ACS (the HTTP-POST binding).
  server.on('request', async (req, res) => {
    const url = new URL(req.url ?? '/', base);
    if (url.pathname !== '/sso' || !spFor) return void res.writeHead(404).end();
    const { samlResponse, acs } = await respond(url.href, st.email);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html lang="en"><title>Test IdP</title><main><h1>Test IdP</h1><form method="post" action="${acs}"><input type="hidden" name="SAMLResponse" value="${samlResponse}"><button type="submit">Continue to Latchkey</button></form></main></html>`,
    );
  });

  return {
    base,
    entityId: `${base}/metadata`,
    ssoUrl: `${base}/sso`,
    cert,
    metadata: () => idp.getMetadata(),
    st,
    /** Point the IdP at Latchkey's SP (entity id and ACS of the connection). */
    trust(entityID: string, acs: string) {
      spFor = sp(entityID, acs);
    },
    /** An SP object that does not ask for signed assertions (the IdP then signs only the message). */
    unsignedAssertionsSp: (entityID: string, acs: string) => sp(entityID, acs, false),
    respond,
    close: () => closeServer(server),
  };
}

/** An admin with an organization, and helpers to call SsoService over REST with their cookie. */
export function ssoApi(url: string, cookie: string, organizationId: string) {
  const base = `/api/organizations/${organizationId}/sso/connections`;
  const h = { headers: { cookie } };
  return {
    create: (body: unknown) => rest(url, 'POST', base, { body, ...h }),
    list: () => rest(url, 'GET', base, h),
    get: (id: string) => rest(url, 'GET', `${base}/${id}`, h),
    update: (id: string, body: unknown) => rest(url, 'PATCH', `${base}/${id}`, { body, ...h }),
    remove: (id: string) => rest(url, 'DELETE', `${base}/${id}`, h),
    addDomain: (id: string, domain: string, ssoRequired = false) => rest(url, 'POST', `${base}/${id}/domains`, { body: { domain, ssoRequired }, ...h }),
    verify: (id: string, domain: string) => rest(url, 'POST', `${base}/${id}/domains/${domain}/verify`, { body: {}, ...h }),
    updateDomain: (id: string, domain: string, ssoRequired: boolean) => rest(url, 'PATCH', `${base}/${id}/domains/${domain}`, { body: { ssoRequired }, ...h }),
  };
}
