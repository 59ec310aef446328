// SignInWithApiKey (seed 004): the documented curl flow, over gRPC too, every error status, the
// 5-per-minute limit, bounded impersonation, and the claims of the issued token.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenService } from '../../gen/latchkey/v1/token_pb.js';
import type { TestUser } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { bearer, claimsOf, cookie, createKey, createOrg, join, newUser, setRole, signInWithApiKey, startWorld, type World } from './fixtures.js';

let w: World;
let root: TestUser; // root_admin of org
let admin: TestUser;
let member: TestUser;
let org: string;
let slug: string;
const ALL = ['read', 'write', 'impersonate', 'introspect', 'projects:read'];

beforeAll(async () => {
  w = await startWorld();
  root = await newUser(w, 'Root');
  admin = await newUser(w, 'Admin');
  member = await newUser(w, 'Member');
  org = root.organizationId;
  await join(w, root, org, admin, 'admin');
  await join(w, root, org, member, 'member');
  const r = await rest(w.url, 'GET', `/api/user/organizations/${org}`, { headers: cookie(root) });
  slug = r.body.data.organization?.slug ?? r.body.data.slug;
  expect(slug).toMatch(/^[a-z0-9-]+$/);
}, 60_000);
afterAll(async () => {
  await w?.stop();
});

const orgKey = (u: TestUser, scopes = ALL, o = org) => createKey(w, cookie(u, { orgid: o }), { scopes });

describe('seed 004 flow', () => {
  it('exchanges x-api-key / x-api-key-id / x-user-id for {id_token, expires_at}, without the envelope', async () => {
    const k = await orgKey(root);
    const before = Date.now();
    const r = await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: root.userId });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['expires_at', 'id_token']);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const expires = Date.parse(r.body.expires_at);
    expect(expires).toBeGreaterThanOrEqual(before + 900_000 - 2_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 900_000 + 2_000);

    // "Use JWT as Bearer token for all other API calls."
    const me = await rest(w.url, 'GET', '/api/user/me', { headers: bearer(r.body.id_token) });
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ id: root.userId, email: root.email });
  });

  it('accepts the organization slug in the path', async () => {
    const k = await orgKey(root);
    const r = await signInWithApiKey(w.url, slug, { key: k.key, keyId: k.id, userId: root.userId });
    expect(r.status).toBe(200);
    expect(claimsOf(r.body.id_token).org_id).toBe(org);
  });

  it('works over gRPC with the same metadata', async () => {
    const k = await orgKey(root);
    const c = client(TokenService, w.url, 'grpc');
    const res = await c.signInWithApiKey({ organization: org }, { headers: { 'x-api-key': k.key, 'x-api-key-id': k.id, 'x-user-id': member.userId } });
    expect(claimsOf(res.idToken).sub).toBe(member.userId);
    expect(Number(res.expiresAt!.seconds) * 1000).toBeGreaterThan(Date.now());
    const err = await c.signInWithApiKey({ organization: org }, { headers: { 'x-api-key': k.key, 'x-api-key-id': 'ak_01HZZZZZZZZZZZZZZZZZZZZZZZ', 'x-user-id': member.userId } }).catch((e) => e);
    expect(ConnectError.from(err).code).toBe(Code.Unauthenticated);
  });
});

describe('the issued token', () => {
  it('names the user, the organization, the key and its creator (RFC 8693 act), with narrowed scopes', async () => {
    const k = await orgKey(root);
    const r = await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: member.userId });
    expect(r.status).toBe(200);
    const c = claimsOf(r.body.id_token);
    expect(c).toMatchObject({ sub: member.userId, org_id: org, aud: 'latchkey', act: { sub: root.userId, client_id: k.id } });
    expect(c.exp - c.iat).toBe(900);
    const scopes: string[] = c.scope.split(' ');
    // key scopes ∩ a member's rights: admin-only scopes are gone, downstream scopes pass through.
    expect(scopes).toEqual(expect.arrayContaining(['user:read', 'members:read', 'api-keys:write', 'projects:read']));
    for (const s of ['members:write', 'orgs:write', 'audit:read', 'impersonate', 'introspect']) expect(scopes).not.toContain(s);
  });

  it('acts only as the user, only in its organization, only with its scopes', async () => {
    const k = await orgKey(root);
    const jwt = (await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: member.userId })).body.id_token;
    const me = await rest(w.url, 'GET', '/api/user/me', { headers: bearer(jwt) });
    expect(me.body.data.id).toBe(member.userId);
    expect((await rest(w.url, 'GET', `/api/user/organizations/${org}/members`, { headers: bearer(jwt) })).status).toBe(200);
    // members:write is not in the token (and the member's role would refuse it anyway).
    const patch = await rest(w.url, 'PATCH', `/api/user/organizations/${org}`, { headers: bearer(jwt), body: { name: 'Renamed' } });
    expect(patch.status).toBe(403);
    // The member's own organization is out of reach of a token bound to `org`.
    const other = await rest(w.url, 'GET', `/api/user/organizations/${member.organizationId}`, { headers: bearer(jwt) });
    expect(other.status).toBe(403);
  });

  it('lives EXCHANGE_TOKEN_TTL_SECONDS, 15 minutes by default', () => {
    expect(w.server.config.exchangeTokenTtlSeconds).toBe(900);
  });

  it('is an audit event of the organization, impersonation marked as such', async () => {
    const k = await orgKey(root);
    expect((await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: member.userId })).status).toBe(200);
    expect((await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: root.userId })).status).toBe(200);
    const list = async (type: string) => (await rest(w.url, 'GET', `/api/user/organizations/${org}/audit-events?type=${type}`, { headers: cookie(root) })).body.data.auditEvents;
    const imp = (await list('token.impersonated')).filter((e: any) => e.actorId === k.id);
    expect(imp).toHaveLength(1);
    expect(imp[0]).toMatchObject({ actorType: 'api_key', targetId: member.userId });
    expect(imp[0].metadata).toMatchObject({ impersonation: true, creatorUserId: root.userId, keyId: k.id });
    const own = (await list('token.exchanged')).filter((e: any) => e.actorId === k.id);
    expect(own).toHaveLength(1);
    expect(own[0]).toMatchObject({ targetId: root.userId });
  });
});

describe('bounded impersonation', () => {
  it('allowed downward and sideways, refused upward', async () => {
    const k = await orgKey(admin);
    expect((await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: member.userId })).status).toBe(200);
    expect((await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: admin.userId })).status).toBe(200);
    const up = await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: root.userId });
    expect(up.status).toBe(403);
    expect(up.body).toMatchObject({ success: false, code: 'FORBIDDEN' });
  });

  it('needs `impersonate` for anyone but the key creator', async () => {
    const k = await orgKey(root, ['read']);
    expect((await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: root.userId })).status).toBe(200);
    const r = await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: member.userId });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/impersonate/);
  });

  it('refused once the key creator is demoted (impersonate is beyond a member)', async () => {
    const second = await newUser(w, 'Second Admin');
    await join(w, root, org, second, 'admin');
    const k = await orgKey(second);
    expect((await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: member.userId })).status).toBe(200);
    await setRole(w, root, org, second.userId, 'member');
    expect((await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: member.userId })).status).toBe(403);
    // Still good for the creator, with a member's rights.
    const self = await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: second.userId });
    expect(self.status).toBe(200);
    expect(claimsOf(self.body.id_token).scope.split(' ')).not.toContain('members:write');
  });

  it('a personal access token is refused: the exchange takes an organization API key (403)', async () => {
    const pat = await createKey(w, cookie(admin), { scopes: ['read', 'impersonate'] });
    for (const userId of [member.userId, admin.userId]) {
      const r = await signInWithApiKey(w.url, org, { key: pat.key, keyId: pat.id, userId });
      expect(r.status).toBe(403);
      expect(r.body.message).toMatch(/Personal access tokens cannot be exchanged/);
    }
  });
});

describe('errors as seed 004 lists them', () => {
  let k: { id: string; key: string };
  beforeAll(async () => {
    k = await orgKey(root);
  });
  // Each case on a fresh key where the 5/min limit could interfere.
  const fresh = () => orgKey(root);

  it('401: wrong key, key id not matching, unknown user, missing key — one message', async () => {
    const f = await fresh();
    const wrong = f.key.slice(0, -8) + 'AAAAAAAA';
    const cases = [
      await signInWithApiKey(w.url, org, { key: wrong, keyId: f.id, userId: root.userId }),
      await signInWithApiKey(w.url, org, { key: f.key, keyId: k.id, userId: root.userId }),
      await signInWithApiKey(w.url, org, { key: f.key, keyId: f.id, userId: '01HZZZZZZZZZZZZZZZZZZZZZZZ' }),
      await signInWithApiKey(w.url, org, { keyId: f.id, userId: root.userId }),
    ];
    for (const r of cases) {
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ success: false, status: 401, code: 'UNAUTHORIZED' });
    }
    expect(cases[0].body.message).toBe(cases[1].body.message);
    expect(cases[1].body.message).toBe(cases[2].body.message);
  });

  it('401: a revoked key; a key of another organization; a user outside the organization', async () => {
    const f = await fresh();
    expect((await rest(w.url, 'DELETE', `/api-key/${f.id}`, { headers: cookie(root, { orgid: root.organizationId }) })).status).toBe(200);
    expect((await signInWithApiKey(w.url, org, { key: f.key, keyId: f.id, userId: root.userId })).status).toBe(401);

    const otherOrg = await createOrg(w, root, { name: 'Elsewhere' });
    const foreign = await orgKey(root, ALL, otherOrg);
    expect((await signInWithApiKey(w.url, org, { key: foreign.key, keyId: foreign.id, userId: root.userId })).status).toBe(401);

    const outsider = await newUser(w, 'Outsider');
    const g = await fresh();
    expect((await signInWithApiKey(w.url, org, { key: g.key, keyId: g.id, userId: outsider.userId })).status).toBe(401);
  });

  it('404: unknown organization (id or slug)', async () => {
    const f = await fresh();
    const r = await signInWithApiKey(w.url, '01HZZZZZZZZZZZZZZZZZZZZZZZ', { key: f.key, keyId: f.id, userId: root.userId });
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ success: false, code: 'NOT_FOUND' });
    expect((await signInWithApiKey(w.url, 'no-such-org', { key: f.key, keyId: f.id, userId: root.userId })).status).toBe(404);
  });

  it('400: malformed organization or x-user-id, naming the parameter', async () => {
    const o = await signInWithApiKey(w.url, 'Not_A_Slug!', { key: k.key, keyId: k.id, userId: root.userId });
    expect(o.status).toBe(400);
    expect(o.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR', field: 'organization' });
    const u = await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId: 'bob' });
    expect(u.status).toBe(400);
    expect(u.body).toMatchObject({ code: 'VALIDATION_ERROR', field: 'x-user-id' });
  });

  it('429 after 5 calls a minute per key, with Retry-After; the next minute works again', async () => {
    const f = await fresh();
    for (let i = 0; i < 5; i++) expect((await signInWithApiKey(w.url, org, { key: f.key, keyId: f.id, userId: root.userId })).status).toBe(200);
    const r = await signInWithApiKey(w.url, org, { key: f.key, keyId: f.id, userId: root.userId });
    expect(r.status).toBe(429);
    expect(r.body).toMatchObject({ success: false, code: 'RATE_LIMITED' });
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(r.headers.get('ratelimit-limit')).toBe('5');
    // Another key is not affected.
    const g = await fresh();
    expect((await signInWithApiKey(w.url, org, { key: g.key, keyId: g.id, userId: root.userId })).status).toBe(200);
    w.server.clock.advance(61);
    expect((await signInWithApiKey(w.url, org, { key: f.key, keyId: f.id, userId: root.userId })).status).toBe(200);
  });
});
