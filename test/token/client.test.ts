// The internal-service client (src/client): JWTs verified offline against the cached JWKS (refreshed
// on an unknown key id, rate-limited), API keys through VerifyApiKey with a short local cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLatchkeyVerifier, LatchkeyAuthError } from '../../src/client/index.js';
import type { TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { accessTokenOf, cookie, createKey, join, newUser, signInWithApiKey, startWorld, type World } from './fixtures.js';

let w: World;
let root: TestUser;
let member: TestUser;
let org: string;
let service: { id: string; key: string };

beforeAll(async () => {
  w = await startWorld();
  root = await newUser(w, 'Root');
  member = await newUser(w, 'Member');
  org = root.organizationId;
  await join(w, root, org, member, 'member');
  service = await createKey(w, cookie(root, { orgid: org }), { scopes: ['introspect'] });
}, 60_000);
afterAll(async () => {
  await w?.stop();
});

const refused = async (p: Promise<unknown>, code: string) => {
  const e = await p.then(
    () => undefined,
    (x) => x,
  );
  expect(e).toBeInstanceOf(LatchkeyAuthError);
  expect(e.code).toBe(code);
  expect(e.status).toBe(401);
};

describe.each(['grpc', 'connect'] as const)('over %s', (transport) => {
  it('verifies sign-in and exchanged JWTs offline: one JWKS fetch for many tokens', async () => {
    const v = createLatchkeyVerifier({ baseUrl: w.url, transport, credential: service.key });
    const signIn = await accessTokenOf(w, member);
    const k = await createKey(w, cookie(root, { orgid: org }), { scopes: ['read', 'impersonate'] });
    const ex = (await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: member.userId })).body.id_token;
    for (let i = 0; i < 20; i++) {
      const a = await v.verify(`Bearer ${signIn}`);
      expect(a).toMatchObject({ kind: 'jwt', userId: member.userId });
      expect(a.kind === 'jwt' && a.sessionId).toBeTruthy();
      const b = await v.verify(ex);
      expect(b).toMatchObject({ kind: 'jwt', userId: member.userId, organizationId: org, actor: { keyId: k.id, userId: root.userId } });
      expect(b.kind === 'jwt' && b.scopes).toContain('members:read');
    }
    expect(v.stats()).toEqual({ jwksFetches: 1, keyVerifications: 0 });
  });

  it('verifies API keys through VerifyApiKey, reusing the answer briefly', async () => {
    const v = createLatchkeyVerifier({ baseUrl: w.url, transport, credential: service.key });
    const k = await createKey(w, cookie(root, { orgid: org }), { scopes: ['read', 'projects:write'] });
    for (let i = 0; i < 5; i++) {
      const p = await v.verify(`Bearer ${k.key}`);
      expect(p).toMatchObject({ kind: 'apiKey', keyId: k.id, userId: root.userId, organizationId: org });
      expect(p.kind === 'apiKey' && p.scopes).toEqual(expect.arrayContaining(['orgs:read', 'projects:write']));
    }
    expect(v.stats().keyVerifications).toBe(1);
    await refused(v.verify(k.key.slice(0, -8) + 'AAAAAAAA'), 'MALFORMED');
  });

  it('refuses the rest: missing, unrecognised, tampered, expired, revoked', async () => {
    const v = createLatchkeyVerifier({ baseUrl: w.url, transport, credential: service.key, keyCacheSeconds: 0 });
    await refused(v.verify(undefined), 'MISSING');
    await refused(v.verify('Bearer hello'), 'UNRECOGNISED');
    const jwt = await accessTokenOf(w, member);
    await refused(v.verify(jwt.slice(0, -4) + (jwt.endsWith('AAAA') ? 'BBBB' : 'AAAA')), 'INVALID');
    const k = await createKey(w, cookie(root, { orgid: org }), { scopes: ['read'] });
    expect((await v.verify(k.key)).kind).toBe('apiKey');
    expect((await rest(w.url, 'DELETE', `/api-key/${k.id}`, { headers: cookie(root, { orgid: root.organizationId }) })).status).toBe(200);
    await refused(v.verify(k.key), 'REVOKED');
  });
});

it('refetches the JWKS when a token names a new key id, at most once per interval', async () => {
  const v = createLatchkeyVerifier({ baseUrl: w.url, credential: service.key, jwksMinRefreshSeconds: 0 });
  await v.verify(await accessTokenOf(w, member));
  expect(v.stats().jwksFetches).toBe(1);
  await w.server.deps.signingKeys.rotate();
  const fresh = await accessTokenOf(w, member);
  expect(JSON.parse(Buffer.from(fresh.split('.')[0], 'base64url').toString()).kid).toBeTruthy();
  expect((await v.verify(fresh)).kind).toBe('jwt');
  expect(v.stats().jwksFetches).toBe(2);

  // With the default interval, a flood of tokens naming unknown keys costs no extra fetch.
  const slow = createLatchkeyVerifier({ baseUrl: w.url, credential: service.key });
  await slow.verify(fresh);
  const [h, p, s] = fresh.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const forged = `${Buffer.from(JSON.stringify({ ...header, kid: 'nope' })).toString('base64url')}.${p}.${s}`;
  for (let i = 0; i < 10; i++) await refused(slow.verify(forged), 'INVALID');
  expect(slow.stats().jwksFetches).toBe(1);
});

it('an exchanged JWT is refused offline once expired', async () => {
  const v = createLatchkeyVerifier({ baseUrl: w.url, credential: service.key, clockToleranceSeconds: 0 });
  const k = await createKey(w, cookie(root, { orgid: org }), { scopes: ['read'] });
  const r = await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: root.userId });
  // Issued 901 s in the server's past: already expired for the client's real clock.
  w.server.clock.advance(-901);
  const old = await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: root.userId });
  w.server.clock.advance(901);
  expect((await v.verify(r.body.id_token)).kind).toBe('jwt');
  await refused(v.verify(old.body.id_token), 'EXPIRED');
});
