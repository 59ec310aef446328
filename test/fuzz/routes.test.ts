// Hostile input on the hand-written (non-RPC) routes, which the descriptor-driven fuzzer does not
// reach: the SSO browser legs, GitHub secret scanning (signed with the test's own key), the OAuth
// provider mount, /docs and /openapi.json, plus the usage range and webhook URL bindings. NUL bytes,
// bad percent escapes and lone surrogates, bodies past MAX_BODY_BYTES, XML bombs and bad base64 in
// SAMLResponse, non-JSON under a JSON content type, deep nesting, absurd numbers. No 5xx, no leak,
// a JSON or HTML body (or none, or the provider's plain 404 for a disabled feature), and /healthz
// still answers.
import { generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signUpAndIn } from '../helpers/accounts.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { type CreatedClient, createClient } from '../oauth/helpers.js';
import type { RequestSpec } from './mutations.js';
import { finding, Sender } from './send.js';

const MAX_BODY = 64 * 1024;
const KEY_ID = 'fuzz-key';
const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ID = '01HZZZZZZZZZZZZZZZZZZZZZZZ';

let s: TestServer;
let cookie = '';
let orgId = '';
let machine: CreatedClient;
let web: CreatedClient;
const REDIRECT = 'http://127.0.0.1:9/callback';

beforeAll(async () => {
  const pem = github.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  s = await startServer({ env: { MAX_BODY_BYTES: String(MAX_BODY), SECRET_SCANNING_PUBLIC_KEYS: JSON.stringify({ public_keys: [{ key_identifier: KEY_ID, key: pem }] }) } });
  const u = await signUpAndIn(s.url, 'Routes Fuzz');
  cookie = u.cookie;
  orgId = u.organizationId;
  machine = await createClient(s.url, u, { name: 'Fuzz machine', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['orgs:read'] });
  web = await createClient(s.url, u, { name: 'Fuzz web', type: 'O_AUTH_CLIENT_TYPE_CONFIDENTIAL', redirectUris: [REDIRECT], scopes: ['openid', 'email'] });
}, 120_000);
afterAll(() => s?.stop());

/** Strings that should never reach the database or a 5xx, as they appear in a URL or form. */
const HOSTILE_QUERY = [
  '%00',
  'a%00b',
  'a@b%00.com',
  '%00@example.com',
  '%ZZ',
  '%',
  '%E0%A4%A',
  '%ED%A0%80',
  '%ED%B0%80@x.com',
  '%F0%9F',
  'x'.repeat(5000),
  '%FF%FE',
  '..%2F..%2Fetc%2Fpasswd',
  '%3Cscript%3E',
  '1e309',
  '-99999999999999999999999',
];
const DEEP = '['.repeat(20_000) + ']'.repeat(20_000);
const BOMB = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&lol4;</samlp:Response>`;
const XXE = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>`;
const JSON_BODIES = ['{', 'not json', '\u0000', '{"a":"\u0000"}', DEEP, '{"a":1e999999}', '[1e309]', '"\ud800"', '{"__proto__":{"x":1}}', 'null', '[]', '{}'];

function req(target: string, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): RequestSpec {
  return { family: target, protocol: 'rest', target, method, path, headers, body: body === undefined ? undefined : Buffer.from(body) };
}
const form = (o: Record<string, string>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
const b64 = (t: string) => encodeURIComponent(Buffer.from(t).toString('base64'));

function specs(): RequestSpec[] {
  const out: RequestSpec[] = [];
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const JSONH = { 'content-type': 'application/json' };
  const big = 'x'.repeat(MAX_BODY + 1024);
  // SSO: lookup by email, start, OIDC callback, SAML ACS, metadata.
  for (const q of HOSTILE_QUERY) {
    out.push(req('sso start by email', 'GET', `/api/sso/start?email=${q}`));
    out.push(req('sso start by email', 'GET', `/api/sso/start?email=user${q}@example.com`));
    out.push(req('sso start', 'GET', `/api/sso/${ID}/start?login_hint=${q}`));
    out.push(req('sso start', 'GET', `/api/sso/${q}/start`));
    out.push(req('sso oidc callback', 'GET', `/api/sso/oidc/callback?code=${q}&state=${q}&iss=${q}`, { cookie: `latchkey_sso=${q}` }));
    out.push(req('sso saml metadata', 'GET', `/api/sso/saml/${q}/metadata`));
    out.push(req('sso saml acs', 'POST', `/api/sso/saml/${ID}/acs`, FORM, form({ SAMLResponse: q, RelayState: q })));
  }
  out.push(req('sso oidc callback', 'GET', '/api/sso/oidc/callback', { cookie: `latchkey_sso=${'A'.repeat(3000)}` }));
  for (const saml of [b64(BOMB), b64(XXE), '!!!not-base64!!!', b64('\u0000'), b64('<'.repeat(10_000)), 'A'.repeat(MAX_BODY - 100)]) {
    out.push(req('sso saml acs', 'POST', `/api/sso/saml/${ID}/acs`, FORM, form({ SAMLResponse: saml })));
  }
  out.push(req('sso saml acs', 'POST', `/api/sso/saml/${ID}/acs`, FORM, form({ SAMLResponse: big })));
  for (const b of JSON_BODIES) out.push(req('sso saml acs', 'POST', `/api/sso/saml/${ID}/acs`, JSONH, b));
  // Secret scanning: unsigned, badly signed, and signed hostile bodies.
  const signed = (body: string | Buffer) => ({
    ...JSONH,
    'github-public-key-identifier': KEY_ID,
    'github-public-key-signature': sign('sha256', Buffer.from(body), { key: github.privateKey, dsaEncoding: 'der' }).toString('base64'),
  });
  const tokens = ['\u0000', 'lk_\u0000abc', 'lk_live_\ud800', 'x'.repeat(512), '%00', 'lk_' + 'A'.repeat(400)];
  const scanningBodies = [
    ...JSON_BODIES,
    ...tokens.map((t) => JSON.stringify([{ token: t, type: 't\u0000', url: 'https://x/\u0000', source: '\u0000' }])),
    JSON.stringify(Array.from({ length: 1001 }, () => ({ token: 'a' }))),
    '[{"token":1e309},{"token":{"a":1}},{"token":"a","url":-1e400}]',
  ];
  for (const b of scanningBodies) {
    out.push(req('secret scanning', 'POST', '/api/secret-scanning/github', signed(b), b));
    out.push(req('secret scanning', 'POST', '/api/secret-scanning/github', { ...JSONH, 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': '!!!\u00ff' }, b));
  }
  out.push(req('secret scanning', 'POST', '/api/secret-scanning/github', { ...JSONH, 'github-public-key-identifier': `${KEY_ID}%00`, 'github-public-key-signature': 'AAAA' }, '[]'));
  out.push(req('secret scanning', 'POST', '/api/secret-scanning/github', signed(big), big));
  out.push(req('secret scanning', 'GET', '/api/secret-scanning/github?x=%00'));
  // The OAuth provider mount.
  for (const q of HOSTILE_QUERY) {
    out.push(req('oauth authorize', 'GET', `/oauth/authorize?client_id=${q}&response_type=code&redirect_uri=${q}&scope=openid&state=${q}&code_challenge=${q}&code_challenge_method=S256`));
    out.push(req('oauth token', 'POST', '/oauth/token', FORM, form({ grant_type: 'client_credentials', client_id: q, client_secret: q })));
    out.push(
      req(
        'oauth token',
        'POST',
        '/oauth/token',
        { ...FORM, authorization: `Basic ${Buffer.from(`${q}:${q}`).toString('base64')}` },
        form({ grant_type: 'authorization_code', code: q, redirect_uri: q, code_verifier: q }),
      ),
    );
    out.push(req('oauth token', 'POST', '/oauth/token', FORM, form({ grant_type: 'refresh_token', refresh_token: q, client_id: q })));
    out.push(req('oauth introspect', 'POST', '/oauth/introspect', FORM, form({ token: q, client_id: q })));
    out.push(req('oauth revoke', 'POST', '/oauth/revoke', FORM, form({ token: q, client_id: q, token_type_hint: q })));
    out.push(req('oauth userinfo', 'GET', '/oauth/userinfo', { authorization: `Bearer ${decodeURIComponentSafe(q)}` }));
    out.push(req('oauth logout', 'GET', `/oauth/logout?id_token_hint=${q}&post_logout_redirect_uri=${q}&client_id=${q}`));
    out.push(req('oauth par', 'POST', '/oauth/par', FORM, form({ client_id: q, response_type: 'code', redirect_uri: q })));
    out.push(req('oauth device', 'POST', '/oauth/device/auth', FORM, form({ client_id: q, scope: q })));
    out.push(req('oauth interaction', 'GET', `/oauth-consent/${q}`, { cookie }));
    out.push(req('oauth interaction', 'POST', `/oauth-consent/${q}`, { ...FORM, cookie }, form({ decision: q })));
    out.push(req('oauth well-known', 'GET', `/.well-known/openid-configuration?x=${q}`));
    out.push(req('oauth well-known', 'GET', `/.well-known/oauth-authorization-server/${q}`));
    out.push(req('oauth well-known', 'GET', `/.well-known/oauth-protected-resource?resource=${q}`));
    out.push(req('oauth well-known', 'GET', `/.well-known/${q}`));
    out.push(req('oauth other', 'GET', `/oauth/${q}`));
  }
  // With real clients, so hostile values get past the client lookup into what the provider stores.
  const basic = (c: CreatedClient) => ({ ...FORM, authorization: `Basic ${Buffer.from(`${c.clientId}:${c.secret}`).toString('base64')}` });
  for (const q of HOSTILE_QUERY) {
    out.push(req('oauth token', 'POST', '/oauth/token', basic(machine), form({ grant_type: 'client_credentials', scope: q, resource: q })));
    out.push(req('oauth introspect', 'POST', '/oauth/introspect', basic(machine), form({ token: q, token_type_hint: q })));
    out.push(req('oauth revoke', 'POST', '/oauth/revoke', basic(machine), form({ token: q })));
    out.push(
      req(
        'oauth par',
        'POST',
        '/oauth/par',
        basic(web),
        form({
          response_type: 'code',
          redirect_uri: encodeURIComponent(REDIRECT),
          scope: 'openid',
          state: q,
          nonce: q,
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
          login_hint: q,
        }),
      ),
    );
    out.push(
      req(
        'oauth authorize',
        'POST',
        '/oauth/authorize',
        { ...FORM, cookie },
        form({
          client_id: web.clientId,
          response_type: 'code',
          redirect_uri: encodeURIComponent(REDIRECT),
          scope: 'openid',
          state: q,
          nonce: q,
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        }),
      ),
    );
    out.push(req('oauth token', 'POST', '/oauth/token', basic(web), form({ grant_type: 'authorization_code', code: q, redirect_uri: encodeURIComponent(REDIRECT), code_verifier: q })));
  }
  for (const b of JSON_BODIES) {
    out.push(req('oauth register', 'POST', '/oauth/register', { ...JSONH, cookie }, b));
    out.push(req('oauth token', 'POST', '/oauth/token', JSONH, b));
  }
  out.push(req('oauth register', 'POST', '/oauth/register', JSONH, JSON.stringify({ redirect_uris: ['https://a/\u0000'], client_name: '\u0000', grant_types: ['\u0000'] })));
  out.push(req('oauth token', 'POST', '/oauth/token', FORM, big));
  // /docs and /openapi.json.
  for (const q of HOSTILE_QUERY) {
    out.push(req('docs', 'GET', `/docs?${q}`));
    out.push(req('docs', 'GET', `/docs/${q}`));
    out.push(req('openapi', 'GET', `/openapi.json?x=${q}`));
    out.push(req('openapi', 'GET', `/openapi.json/${q}`));
  }
  out.push(req('docs', 'POST', '/docs', JSONH, DEEP));
  out.push(req('openapi', 'POST', '/openapi.json', JSONH, big));
  // Usage range query parameters (REST bindings) and webhook URLs (address checks).
  for (const q of [
    ...HOSTILE_QUERY,
    '2026-13-45T99:99:99Z',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '10000-01-01T00:00:00Z',
    '2026-01-01T00:00:00.0000000001Z',
    '2026-01-01T00:00:00%2B99:99',
  ]) {
    out.push(req('usage range', 'GET', `/api/user/api-key-usage?start_time=${q}&end_time=${q}&resolution=${q}`, { cookie }));
    out.push(req('usage range', 'GET', `/api/user/organizations/${orgId}/api-key-usage?startTime=${q}&endTime=2026-01-01T00:00:00Z`, { cookie }));
  }
  for (const url of [
    'https://exa\u0000mple.com/',
    'http://[::1]/',
    'http://0x7f.1/',
    'https://%00/',
    'https://a.com/\ud800',
    'http://169.254.169.254/latest',
    'https://' + 'a'.repeat(5000) + '.com/',
    'javascript:alert(1)',
    'https://user:\u0000@x.com/',
    'https://xn--/',
    'https://1e309/',
  ]) {
    out.push(req('webhook url', 'POST', `/api/organizations/${orgId}/webhooks`, { ...JSONH, cookie }, JSON.stringify({ url, events: ['user.created'] })));
  }
  return out;
}

function decodeURIComponentSafe(q: string): string {
  try {
    return decodeURIComponent(q);
  } catch {
    return q;
  }
}

/** Bytes no client library sends: raw NUL and a lone-surrogate encoding in the request line. */
function raws(): RequestSpec[] {
  const lines = [
    '/api/sso/start?email=a\u0000@b.com',
    '/api/sso/start?email=\u00ed\u00a0\u0080@b.com',
    '/oauth/authorize?client_id=\u00ed\u00a0\u0080',
    '/docs/\u00ff\u00fe',
    '/.well-known/openid-configuration\u0000',
    '/openapi.json?\u0000',
  ];
  return lines.map((p) => ({ ...req('raw request line', 'GET', p), raw: Buffer.from(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 'latin1') }));
}

it('hostile input on the hand-written routes: no 5xx, no leak, a JSON or HTML answer, /healthz keeps answering', { timeout: 240_000 }, async () => {
  const all = [...specs(), ...raws()];
  const sender = new Sender(s.url, 4);
  const findings: string[] = [];
  const counts = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < all.length) {
        const spec = all[next++];
        const o = await sender.send(spec);
        if (o.unsendable) continue;
        counts.set(spec.target, (counts.get(spec.target) ?? 0) + 1);
        // A body past the limit may be answered (413) and the socket closed before it is all written.
        const cutOff = o.status === 0 && (spec.body?.length ?? 0) > MAX_BODY && /EPIPE|ECONNRESET/.test(o.error ?? '');
        let why = cutOff ? undefined : finding(o);
        const text = o.body.trim();
        if (!why && text && !spec.raw && !/^<(!doctype html|\?xml|html)/i.test(text) && !isJson(text) && !(o.status === 404 && text === 'Not Found'))
          why = `neither JSON nor HTML: ${text.slice(0, 60)}`;
        if (why) findings.push(`${spec.method} ${spec.path.slice(0, 90)} (${spec.target}): ${why} ${o.body.replace(/[^\x20-\x7e]/g, '.').slice(0, 200)}`);
      }
    }),
  );
  sender.close();
  const health = await fetch(`${s.url}/healthz`, { signal: AbortSignal.timeout(2_000) });
  console.log(`routes fuzz: ${[...counts.values()].reduce((a, b) => a + b, 0)} requests ${JSON.stringify(Object.fromEntries(counts))}`);
  expect(health.status).toBe(200);
  for (const t of [
    'sso start by email',
    'sso start',
    'sso oidc callback',
    'sso saml acs',
    'sso saml metadata',
    'secret scanning',
    'oauth token',
    'oauth authorize',
    'docs',
    'openapi',
    'usage range',
    'webhook url',
  ])
    expect(counts.get(t) ?? 0, t).toBeGreaterThan(0);
  expect(findings).toEqual([]);
});

function isJson(t: string): boolean {
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}
