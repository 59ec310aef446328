// Revocation everywhere: three replicas share one PostgreSQL database and one Redis (a private
// redis-server child). What ends on replica A — a sign-out, a revoked session, a password reset, a
// suspension, a deleted organization, a revoked key, a revoked OAuth token or a deleted OAuth client —
// is refused on B and C within 1 s while Redis is up, and within the trust bound
// (CACHE_TRUST_WITHOUT_BUS_SECONDS, 5 s) while Redis is down. Every wait polls the condition against
// a deadline. Needs TEST_DATABASE_URL and TEST_REDIS_URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { User } from '../../src/modules/account/user.entity.js';
import { cookie, createKey, createOrg, newUser, startWorld, type World } from '../apikey/fixtures.js';
import { PASSWORD, type TestUser } from '../helpers/accounts.js';
import { client, rest, sessionCookieOf } from '../helpers/clients.js';
import { type RedisChild, startRedisServer, testRedisUrl, uniquePrefix, within } from '../helpers/redis.js';
import { onRealPostgres } from '../helpers/server.js';
import { tokenOf } from '../helpers/smtp.js';

const BOUND_MS = 5_000;
/** Refusal times (ms) on B and C, per case: the figures of the closing note. */
const measured: Record<string, number[]> = {};

describe.skipIf(!onRealPostgres || !testRedisUrl)('three replicas: revocation reaches every replica', () => {
  let redis: RedisChild;
  let a: World;
  let b: World;
  let c: World;
  beforeAll(async () => {
    redis = await startRedisServer();
    // One PUBLIC_URL (the load balancer's): a JWT issued by A names the issuer B and C expect.
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: uniquePrefix('revocation'), PUBLIC_URL: 'http://localhost:8080' };
    a = await startWorld(env);
    b = await startWorld(env, { databaseUrl: a.server.databaseUrl });
    c = await startWorld(env, { databaseUrl: a.server.databaseUrl });
  }, 60_000);
  afterAll(async () => {
    console.info(`revocation times on replicas B, C (ms): ${JSON.stringify(measured)}`);
    await c?.stop();
    await b?.stop();
    await a?.stop();
    await redis?.kill();
  });

  const others = () => [b, c];
  const signIn = async (w: World, u: TestUser) => {
    const r = await rest(w.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } });
    expect(r.status).toBe(200);
    return { cookie: sessionCookieOf(r), jwt: r.body.data.accessToken as string };
  };
  const meByCookie = (w: World, session: { cookie: string }) => rest(w.url, 'GET', '/api/user/me', { headers: { cookie: session.cookie } });
  const meByJwt = (w: World, session: { jwt: string }) => rest(w.url, 'GET', '/api/user/me', { headers: { authorization: `Bearer ${session.jwt}` } });

  /** Both credentials of a session work on B and C (and are now cached there). */
  async function warm(session: { cookie: string; jwt: string }) {
    for (const w of others()) {
      expect((await meByCookie(w, session)).status).toBe(200);
      expect((await meByJwt(w, session)).status).toBe(200);
    }
  }

  /** Poll every check on B and C until each is refused; record and return the times. */
  async function refusedOnOthers(label: string, limitMs: number, checks: ((w: World) => Promise<boolean>)[]): Promise<number[]> {
    const times = await Promise.all(others().flatMap((w) => checks.map((refused) => within(limitMs, () => refused(w)))));
    measured[label] = times;
    expect(
      times.every((t) => t >= 0),
      `${label}: ${times}`,
    ).toBe(true);
    return times;
  }
  const sessionRefused = (session: { cookie: string; jwt: string }) => [
    async (w: World) => (await meByCookie(w, session)).status === 401,
    async (w: World) => (await meByJwt(w, session)).status === 401,
  ];

  describe('with Redis up: within 1 s', () => {
    it('sign-out on A: the cookie and the access token are refused on B and C', async () => {
      const u = await newUser(a, 'Sign Out');
      const s = await signIn(a, u);
      await warm(s);
      expect((await rest(a.url, 'POST', '/api/auth/sign-out', { headers: { cookie: s.cookie } })).status).toBe(200);
      await refusedOnOthers('sign-out (cookie, JWT)', 1_000, sessionRefused(s));
    });

    it('a session revoked from another session on A', async () => {
      const u = await newUser(a, 'Revoke Session');
      const keep = await signIn(a, u);
      const doomed = await signIn(a, u);
      await warm(doomed);
      const list = await rest(a.url, 'GET', '/api/user/sessions', { headers: { cookie: doomed.cookie } });
      const id = list.body.data.sessions.find((x: { current: boolean }) => x.current).id;
      expect((await rest(a.url, 'DELETE', `/api/user/sessions/${id}`, { headers: { cookie: keep.cookie } })).status).toBe(200);
      await refusedOnOthers('session revoke', 1_000, sessionRefused(doomed));
      expect((await meByCookie(b, keep)).status).toBe(200);
    });

    it('a password reset on A ends every session of the user on B and C', async () => {
      const u = await newUser(a, 'Reset');
      await a.smtp.nextMail(u.email); // the verification email
      const one = await signIn(a, u);
      const two = await signIn(b, u);
      await warm(one);
      await warm(two);
      expect((await rest(a.url, 'POST', '/api/auth/forget-password', { body: { email: u.email } })).status).toBe(200);
      const token = tokenOf(await a.smtp.nextMail(u.email));
      expect((await rest(a.url, 'POST', '/api/auth/reset-password', { body: { token, newPassword: 'a-brand-new-passphrase' } })).status).toBe(200);
      await refusedOnOthers('password reset', 1_000, [...sessionRefused(one), ...sessionRefused(two)]);
    });

    it('a user suspended on A (is_active written through the ORM): sessions and keys refused on B and C', async () => {
      const u = await newUser(a, 'Suspended');
      const s = await signIn(a, u);
      const admin = await newUser(a, 'Introspector');
      const introspector = (await createKey(a, cookie(admin, { orgid: admin.organizationId }), { scopes: ['introspect'] })).key;
      const k = await createKey(a, cookie(u), { scopes: ['user:read'] });
      await warm(s);
      for (const w of others()) expect((await rest(w.url, 'GET', '/api/user/me', { headers: { 'x-api-key': k.key } })).status).toBe(200);
      const em = a.server.deps.db.orm.em.fork();
      const user = await em.findOneOrFail(User, { id: u.userId });
      user.isActive = false;
      await em.flush();
      await refusedOnOthers('user suspension (cookie, JWT, key)', 1_000, [
        ...sessionRefused(s),
        async (w) => (await rest(w.url, 'GET', '/api/user/me', { headers: { 'x-api-key': k.key } })).status === 401,
      ]);
      const verify = await client(ApiKeyService, b.url, 'grpc').verifyApiKey({ key: k.key }, { headers: { 'x-api-key': introspector } });
      expect(verify).toMatchObject({ valid: false, code: 'DISABLED' });
    });

    it('a key revoked on A', async () => {
      const u = await newUser(a, 'Key Owner');
      const orgid = u.organizationId;
      const introspector = (await createKey(a, cookie(u, { orgid }), { scopes: ['introspect'] })).key;
      const k = await createKey(a, cookie(u, { orgid }), { scopes: ['read'] });
      const verifyOn = (w: World) => client(ApiKeyService, w.url, 'grpc').verifyApiKey({ key: k.key }, { headers: { 'x-api-key': introspector } });
      for (const w of others()) expect((await verifyOn(w)).valid).toBe(true);
      expect((await rest(a.url, 'DELETE', `/api-key/${k.id}`, { headers: cookie(u, { orgid }) })).status).toBe(200);
      await refusedOnOthers('key revoke', 1_000, [async (w) => (await verifyOn(w)).code === 'REVOKED']);
    });

    it('an organization deleted on A: its keys are refused on B and C', async () => {
      const u = await newUser(a, 'Org Owner');
      const orgId = await createOrg(a, u, { name: 'Short Lived' });
      const k = await createKey(a, cookie(u, { orgid: orgId }), { scopes: ['members:read'] });
      const members = (w: World) => rest(w.url, 'GET', `/api/user/organizations/${orgId}/members`, { headers: { 'x-api-key': k.key } });
      for (const w of others()) expect((await members(w)).status).toBe(200);
      expect((await rest(a.url, 'DELETE', `/api/user/organizations/${orgId}`, { headers: cookie(u) })).status).toBe(200);
      await refusedOnOthers('organization deletion (key)', 1_000, [async (w) => (await members(w)).status === 401]);
    });
  });

  describe('OAuth with Redis up: within 1 s', () => {
    /** A machine client of `u`'s organization and a client_credentials token from A's token endpoint. */
    async function machineToken(u: TestUser) {
      const created = await rest(a.url, 'POST', '/api/oauth/clients', {
        body: { name: 'Replica sync', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['members:read'] },
        headers: { cookie: u.cookie, 'x-organization-id': u.organizationId },
      });
      expect(created.status).toBe(200);
      const { clientId } = created.body.data.client;
      const basic = `Basic ${Buffer.from(`${clientId}:${created.body.data.clientSecret}`).toString('base64')}`;
      const form = (body: Record<string, string>) => ({ method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
      const t = await fetch(`${a.url}/oauth/token`, form({ grant_type: 'client_credentials', scope: 'members:read' }));
      expect(t.status).toBe(200);
      const token = ((await t.json()) as { access_token: string }).access_token;
      return { clientId, token, revoke: () => fetch(`${a.url}/oauth/revoke`, form({ token })) };
    }
    const membersWith = (w: World, u: TestUser, token: string) => rest(w.url, 'GET', `/api/user/organizations/${u.organizationId}/members`, { headers: { authorization: `Bearer ${token}` } });

    it('an access token revoked on A (RFC 7009) is refused on B and C', async () => {
      const u = await newUser(a, 'OAuth Revoke');
      const m = await machineToken(u);
      for (const w of others()) expect((await membersWith(w, u, m.token)).status).toBe(200); // warm: "not revoked" cached
      expect((await m.revoke()).status).toBe(200);
      await refusedOnOthers('OAuth token revoke', 1_000, [async (w) => (await membersWith(w, u, m.token)).status === 401]);
    });

    it('an OAuth client deleted on A: its tokens are refused on B and C', async () => {
      const u = await newUser(a, 'OAuth Client Owner');
      const m = await machineToken(u);
      for (const w of others()) expect((await membersWith(w, u, m.token)).status).toBe(200);
      const del = await rest(a.url, 'DELETE', `/api/oauth/clients/${m.clientId}`, { headers: { cookie: u.cookie, 'x-organization-id': u.organizationId } });
      expect(del.status).toBe(200);
      await refusedOnOthers('OAuth client deletion', 1_000, [async (w) => (await membersWith(w, u, m.token)).status === 401]);
    });
  });

  describe('with Redis down: within the trust bound', () => {
    it('sign-out and key revocation on A are refused on B and C within CACHE_TRUST_WITHOUT_BUS_SECONDS', async () => {
      const u = await newUser(a, 'Offline');
      const s = await signIn(a, u);
      const k = await createKey(a, cookie(u, { orgid: u.organizationId }), { scopes: ['introspect'] });
      const introspector = (await createKey(a, cookie(u, { orgid: u.organizationId }), { scopes: ['introspect'] })).key;
      const verifyOn = (w: World) => client(ApiKeyService, w.url, 'grpc').verifyApiKey({ key: k.key }, { headers: { 'x-api-key': introspector } });
      await warm(s);
      for (const w of others()) expect((await verifyOn(w)).valid).toBe(true);

      await redis.kill();
      expect(await within(5_000, async () => others().every((w) => !w.server.deps.bus.healthy()))).toBeGreaterThanOrEqual(0);
      // Cached just now: B and C would trust these entries for a minute if the bus were believed.
      await warm(s);
      expect((await rest(a.url, 'POST', '/api/auth/sign-out', { headers: { cookie: s.cookie } })).status).toBe(200);
      expect((await rest(a.url, 'DELETE', `/api-key/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }) })).status).toBe(200);
      const times = await refusedOnOthers('Redis down: sign-out (cookie, JWT) and key revoke', BOUND_MS + 1_000, [...sessionRefused(s), async (w) => !(await verifyOn(w)).valid]);
      expect(Math.max(...times)).toBeLessThanOrEqual(BOUND_MS + 1_000);

      // Back: the bus is trusted again (after forgetting everything) and revocations are immediate once more.
      await redis.start();
      expect(await within(15_000, async () => [a, b, c].every((w) => w.server.deps.bus.healthy()))).toBeGreaterThanOrEqual(0);
      const again = await signIn(a, u);
      await warm(again);
      expect((await rest(a.url, 'POST', '/api/auth/sign-out', { headers: { cookie: again.cookie } })).status).toBe(200);
      await refusedOnOthers('after Redis returned: sign-out', 1_000, sessionRefused(again));
    }, 60_000);
  });
});
