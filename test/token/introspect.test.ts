// IntrospectToken: every credential kind, live and dead; inactive answers say nothing else; who may
// call it; the caller's own credential when the body is empty; gRPC for internal services.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenService } from '../../gen/latchkey/v1/token_pb.js';
import { PASSWORD, type TestUser } from '../helpers/accounts.js';
import { client, rest, sessionCookieOf } from '../helpers/clients.js';
import { accessTokenOf, bearer, cookie, createKey, join, newUser, signInWithApiKey, startWorld, type World, xApiKey } from './fixtures.js';

let w: World;
let root: TestUser;
let member: TestUser;
let org: string;
let caller: { id: string; key: string }; // a key with `introspect`

beforeAll(async () => {
  w = await startWorld();
  root = await newUser(w, 'Root');
  member = await newUser(w, 'Member');
  org = root.organizationId;
  await join(w, root, org, member, 'member');
  caller = await createKey(w, cookie(root, { orgid: org }), { scopes: ['introspect'] });
}, 60_000);
afterAll(async () => {
  await w?.stop();
});

const introspect = (token: string | undefined, headers: Record<string, string> = xApiKey(caller.key)) =>
  rest(w.url, 'POST', '/api/auth/introspect', { headers, body: token === undefined ? {} : { token } });
const sessionTokenOf = (u: TestUser) => u.cookie.split('=')[1];

async function exchanged(userId: string, scopes = ['read', 'impersonate', 'projects:read']) {
  const k = await createKey(w, cookie(root, { orgid: org }), { scopes });
  const r = await signInWithApiKey(w.url, org, { key: k.key, keyId: k.id, userId });
  expect(r.status).toBe(200);
  return { key: k, jwt: r.body.id_token as string };
}

describe('live credentials', () => {
  it('a sign-in access token: subject, session, expiry as numbers, no scope (full rights)', async () => {
    const jwt = await accessTokenOf(w, member);
    const r = await introspect(jwt);
    expect(r.status).toBe(200);
    const d = r.body.data;
    expect(d).toMatchObject({ active: true, token_type: 'access_token', sub: member.userId, username: member.email, iss: w.url });
    expect(typeof d.exp).toBe('number');
    expect(typeof d.iat).toBe('number');
    expect(d.exp).toBeGreaterThan(Date.now() / 1000);
    expect(d.sid).toBeTruthy();
    expect(d.scope).toBeUndefined();
    expect(d.act).toBeUndefined();
  });

  it('an exchanged token: act chain, client_id, org_id, narrowed scopes', async () => {
    const { key, jwt } = await exchanged(member.userId);
    const d = (await introspect(jwt)).body.data;
    expect(d).toMatchObject({ active: true, token_type: 'access_token', sub: member.userId, org_id: org, client_id: key.id, act: { sub: root.userId, client_id: key.id } });
    const scopes = d.scope.split(' ');
    expect(scopes).toEqual(expect.arrayContaining(['user:read', 'members:read', 'projects:read']));
    expect(scopes).not.toContain('impersonate');
    expect(scopes).not.toContain('audit:read');
    expect(d.exp - d.iat).toBe(900);
  });

  it('an API key: owner, key id, organization, effective scopes; introspection does not count a use', async () => {
    const k = await createKey(w, cookie(root, { orgid: org }), { scopes: ['read', 'projects:write'], rateLimit: { requestsPerMinute: 1 } });
    for (let i = 0; i < 3; i++) {
      const d = (await introspect(k.key)).body.data;
      expect(d).toMatchObject({ active: true, token_type: 'api_key', sub: root.userId, client_id: k.id, jti: k.id, org_id: org, username: root.email });
      expect(d.scope.split(' ')).toEqual(expect.arrayContaining(['orgs:read', 'projects:write']));
      expect(d.exp).toBeUndefined(); // never expires
      expect(Math.abs(d.iat - Date.now() / 1000)).toBeLessThan(60);
    }
    // The key's own limit of 1/min is untouched by the three introspections.
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) })).status).toBe(200);
  });

  it('a session token (the cookie value)', async () => {
    const d = (await introspect(sessionTokenOf(member))).body.data;
    expect(d).toMatchObject({ active: true, token_type: 'session', sub: member.userId, username: member.email });
    expect(d.sid).toBe(d.jti);
    expect(d.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it("an empty body introspects the caller's own credential", async () => {
    const d = (await introspect(undefined)).body.data;
    expect(d).toMatchObject({ active: true, token_type: 'api_key', client_id: caller.id, scope: 'introspect' });
    const s = (await introspect(undefined, cookie(root, { orgid: org }))).body.data;
    expect(s).toMatchObject({ active: true, token_type: 'session', sub: root.userId });
  });
});

describe('dead credentials answer only {active:false}', () => {
  const dead = async (token: string) => {
    const r = await introspect(token);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ active: false });
  };

  it('garbage, a tampered JWT, an unknown key', async () => {
    await dead('not-a-token');
    const jwt = await accessTokenOf(w, member);
    await dead(jwt.slice(0, -4) + (jwt.endsWith('AAAA') ? 'BBBB' : 'AAAA'));
    const k = await createKey(w, cookie(root, { orgid: org }), { scopes: ['read'] });
    await dead(k.key.slice(0, -10) + '0000000000');
  });

  it('a revoked key, and a token exchanged from it — which still works until it expires (documented)', async () => {
    const { key, jwt } = await exchanged(member.userId);
    expect((await introspect(key.key)).body.data.active).toBe(true);
    expect((await rest(w.url, 'DELETE', `/api-key/${key.id}`, { headers: cookie(root, { orgid: root.organizationId }) })).status).toBe(200);
    await dead(key.key);
    await dead(jwt);
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: bearer(jwt) })).status).toBe(200);
  });

  it('a signed-out session and the access tokens issued in it', async () => {
    const u = await newUser(w, 'Leaver');
    const inn = await rest(w.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } });
    const session = sessionCookieOf(inn);
    const jwt = inn.body.data.accessToken as string;
    expect((await introspect(jwt)).body.data.active).toBe(true);
    expect((await introspect(session.split('=')[1])).body.data.active).toBe(true);
    expect((await rest(w.url, 'POST', '/api/auth/sign-out', { headers: { cookie: session } })).status).toBe(200);
    await dead(session.split('=')[1]);
    await dead(jwt);
  });

  it('an expired exchanged token', async () => {
    const { jwt } = await exchanged(root.userId);
    expect((await introspect(jwt)).body.data.active).toBe(true);
    w.server.clock.advance(901);
    try {
      await dead(jwt);
    } finally {
      w.server.clock.advance(-901);
    }
  });
});

describe('who may introspect', () => {
  it('a key without `introspect`: 403', async () => {
    const k = await createKey(w, cookie(root, { orgid: org }), { scopes: ['read'] });
    const r = await introspect(caller.key, xApiKey(k.key));
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ success: false, code: 'FORBIDDEN' });
  });

  it("an admin's session, naming the organization: yes; a member's session there: 403", async () => {
    expect((await introspect(caller.key, cookie(root, { orgid: org }))).status).toBe(200);
    expect((await introspect(caller.key, cookie(member, { orgid: org }))).status).toBe(403);
  });

  it('an unknown token_type_hint: 400', async () => {
    const r = await rest(w.url, 'POST', '/api/auth/introspect', { headers: xApiKey(caller.key), body: { token: caller.key, token_type_hint: 'password' } });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'VALIDATION_ERROR', field: 'tokenTypeHint' });
  });

  it('Bearer with something that is neither a JWT nor a key: 401 "Unrecognised bearer credential"', async () => {
    const r = await introspect(caller.key, { authorization: 'Bearer not-a-latchkey-credential' });
    expect(r.status).toBe(401);
    expect(r.body.message).toBe('Unrecognised bearer credential');
  });

  it('over gRPC, as internal services call it', async () => {
    const c = client(TokenService, w.url, 'grpc');
    const { jwt } = await exchanged(member.userId);
    const res = await c.introspectToken({ token: jwt }, { headers: { 'x-api-key': caller.key } });
    expect(res).toMatchObject({ active: true, sub: member.userId, orgId: org, tokenType: 'access_token' });
    expect(res.act?.client_id).toBeTruthy();
    const dead = await c.introspectToken({ token: 'nope' }, { headers: { 'x-api-key': caller.key } });
    expect(dead.active).toBe(false);
    expect(dead.sub).toBeUndefined();
    const err = await c.introspectToken({ token: jwt }).catch((e) => e);
    expect(ConnectError.from(err).code).toBe(Code.Unauthenticated);
  });
});
