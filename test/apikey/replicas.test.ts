// Two replicas sharing PostgreSQL and Redis: a revoked, regenerated or narrowed key stops on the
// other replica within the same second, and a per-key limit holds across both. Real PostgreSQL only
// (PGlite cannot be shared between two servers): TEST_DATABASE_URL and TEST_REDIS_URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import type { TestUser } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { testRedisUrl, uniquePrefix, within } from '../helpers/redis.js';
import { onRealPostgres } from '../helpers/server.js';
import { cookie, createKey, join, newUser, setRole, startWorld, type World, xApiKey } from './fixtures.js';

describe.skipIf(!onRealPostgres || !testRedisUrl)('two replicas sharing PostgreSQL and Redis', () => {
  let a: World;
  let b: World;
  let u: TestUser;
  beforeAll(async () => {
    const env = { REDIS_URL: testRedisUrl!, REDIS_KEY_PREFIX: uniquePrefix('replicas') };
    a = await startWorld(env);
    b = await startWorld(env, { databaseUrl: a.server.databaseUrl });
    u = await newUser(a, 'Replicated');
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  const me = (w: World, key: string) => rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(key) });

  it('a key revoked on one replica stops on the other within the same second', async () => {
    const k = await createKey(a, cookie(u), { scopes: ['user:read'] });
    expect((await me(b, k.key)).status).toBe(200); // cached on b
    expect((await me(b, k.key)).status).toBe(200);
    expect((await rest(a.url, 'DELETE', `/api-key/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }) })).status).toBe(200);
    const ms = await within(1000, async () => (await me(b, k.key)).status === 401);
    expect(ms).toBeGreaterThanOrEqual(0);
    expect((await me(b, k.key)).body.message).toBe('API key revoked');
  });

  it('a regenerated key: the old secret stops on the other replica, the new one works there', async () => {
    const k = await createKey(a, cookie(u), { scopes: ['user:read'] });
    expect((await me(b, k.key)).status).toBe(200);
    const r = await rest(a.url, 'POST', `/api-key/regenerate/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }) });
    expect(await within(1000, async () => (await me(b, k.key)).status === 401)).toBeGreaterThanOrEqual(0);
    expect((await me(b, r.body.data.key)).status).toBe(200);
  });

  it("a demotion on one replica narrows the creator's keys on the other at once", async () => {
    const admin = await newUser(a, 'Demoted');
    await join(a, u, u.organizationId, admin, 'admin');
    const k = await createKey(a, cookie(admin, { orgid: u.organizationId }), { scopes: ['audit:read', 'members:read'] });
    const introspect = await createKey(a, cookie(u, { orgid: u.organizationId }), { scopes: ['introspect'] });
    const verifyOnB = () => client(ApiKeyService, b.url, 'grpc').verifyApiKey({ key: k.key }, { headers: { 'x-api-key': introspect.key } });
    expect((await verifyOnB()).scopes).toContain('audit:read');
    expect((await rest(b.url, 'GET', `/api/user/organizations/${u.organizationId}/audit-events`, { headers: xApiKey(k.key) })).status).toBe(200);
    await setRole(a, u, u.organizationId, admin.userId, 'member');
    expect(await within(1000, async () => !(await verifyOnB()).scopes.includes('audit:read'))).toBeGreaterThanOrEqual(0);
    expect((await rest(b.url, 'GET', `/api/user/organizations/${u.organizationId}/audit-events`, { headers: xApiKey(k.key) })).status).toBe(403);
  });

  it('a 60/min limit holds across both replicas: 50 concurrent requests on each, exactly 60 accepted', async () => {
    const k = await createKey(a, cookie(u), { scopes: ['user:read'], rateLimit: { requestsPerMinute: 60 } });
    const all = await Promise.all([...Array.from({ length: 50 }, () => me(a, k.key)), ...Array.from({ length: 50 }, () => me(b, k.key))]);
    expect(all.filter((r) => r.status === 200).length).toBe(60);
    expect(all.filter((r) => r.status === 429).length).toBe(40);
  });

  it('credits are shared too', async () => {
    const k = await createKey(a, cookie(u), { scopes: ['user:read'], remaining: 25 });
    const all = await Promise.all([...Array.from({ length: 20 }, () => me(a, k.key)), ...Array.from({ length: 20 }, () => me(b, k.key))]);
    expect(all.filter((r) => r.status === 200).length).toBe(25);
  });
});
