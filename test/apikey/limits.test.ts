// Per-key rate limits and usage credits: exact under concurrency, in process and with the real Redis (TEST_REDIS_URL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import type { TestUser } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { cookie, createKey, newUser, startWorld, type World, xApiKey } from './fixtures.js';

async function burst(w: World, key: string, n: number) {
  return Promise.all(Array.from({ length: n }, () => rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(key) })));
}

for (const mode of ['in-process', 'redis'] as const) {
  describe.skipIf(mode === 'redis' && !testRedisUrl)(`${mode} counters`, () => {
    let w: World;
    let u: TestUser;
    beforeAll(async () => {
      w = await startWorld(mode === 'redis' ? { REDIS_URL: testRedisUrl!, REDIS_KEY_PREFIX: uniquePrefix('limits') } : {});
      u = await newUser(w, `Limits ${mode}`);
    });
    afterAll(async () => {
      await w?.stop();
    });

    it('100 concurrent requests on a 60/min key: exactly 60 accepted, 40 answered 429 with headers', async () => {
      const k = await createKey(w, cookie(u), { scopes: ['user:read'], rateLimit: { requestsPerMinute: 60 } });
      const results = await burst(w, k.key, 100);
      const ok = results.filter((r) => r.status === 200);
      const limited = results.filter((r) => r.status === 429);
      expect(ok.length).toBe(60);
      expect(limited.length).toBe(40);
      const r = limited[0];
      expect(r.body).toMatchObject({ success: false, code: 'RATE_LIMITED' });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect(r.headers.get('ratelimit-limit')).toBe('60');
      expect(r.headers.get('ratelimit-remaining')).toBe('0');
      expect(Number(r.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
    });

    it('the limit is per key: another key of the same user is not affected', async () => {
      const a = await createKey(w, cookie(u), { scopes: ['user:read'], rateLimit: { requestsPerMinute: 2 } });
      const b = await createKey(w, cookie(u), { scopes: ['user:read'], rateLimit: { requestsPerMinute: 2 } });
      expect((await burst(w, a.key, 3)).map((r) => r.status).sort()).toEqual([200, 200, 429]);
      expect((await burst(w, b.key, 2)).map((r) => r.status)).toEqual([200, 200]);
    });

    it('the limit also applies over gRPC, as RESOURCE_EXHAUSTED', async () => {
      const k = await createKey(w, cookie(u), { scopes: ['api-keys:read'], rateLimit: { requestsPerMinute: 1 } });
      const keys = client(ApiKeyService, w.url, 'grpc');
      await keys.listApiKeys({}, { headers: { 'x-api-key': k.key } });
      await expect(keys.listApiKeys({}, { headers: { 'x-api-key': k.key } })).rejects.toMatchObject({ code: 8 });
    });

    it('credits: 30 uses under 50 concurrent requests, then 401 "usage limit exhausted"', async () => {
      const k = await createKey(w, cookie(u), { scopes: ['user:read'], remaining: 30 });
      expect(k.apiKey.remaining).toBe('30');
      const results = await burst(w, k.key, 50);
      expect(results.filter((r) => r.status === 200).length).toBe(30);
      const refused = results.filter((r) => r.status === 401);
      expect(refused.length).toBe(20);
      expect(refused[0].body.message).toBe('API key usage limit exhausted');
      await w.server.deps.apiKeys.usage.flush();
      const got = await rest(w.url, 'GET', `/api-key/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }) });
      expect(got.body.data.remaining).toBe('0');
    });

    it('credits refill on their interval; UpdateApiKey sets a new budget', async () => {
      const k = await createKey(w, cookie(u), { scopes: ['user:read'], remaining: 1, refill: { interval: 'minute', amount: 3 } });
      expect((await burst(w, k.key, 2)).map((r) => r.status).sort()).toEqual([200, 401]);
      w.server.clock.advance(60);
      try {
        expect((await burst(w, k.key, 4)).map((r) => r.status).sort()).toEqual([200, 200, 200, 401]);
      } finally {
        w.server.clock.advance(-60);
      }
      const up = await rest(w.url, 'PATCH', `/api-key/${k.id}`, { headers: cookie(u, { orgid: u.organizationId }), body: { remaining: 2, refill: { amount: 0 } } });
      expect(up.status).toBe(200);
      expect(up.body.data.remaining).toBe('2');
      expect(up.body.data.refill).toBeUndefined();
      expect((await burst(w, k.key, 3)).map((r) => r.status).sort()).toEqual([200, 200, 401]);
    });

    it('VerifyApiKey counts as a use and reports what is left', async () => {
      const caller = await createKey(w, cookie(u, { orgid: u.organizationId }), { scopes: ['introspect'] });
      const k = await createKey(w, cookie(u), { scopes: ['user:read'], remaining: 2, rateLimit: { requestsPerMinute: 10 } });
      const keys = client(ApiKeyService, w.url, 'grpc');
      const first = await keys.verifyApiKey({ key: k.key }, { headers: { 'x-api-key': caller.key } });
      expect(first).toMatchObject({ valid: true, code: 'VALID', remaining: 1n });
      expect(first.rateLimit).toMatchObject({ limit: 10, remaining: 9 });
      await keys.verifyApiKey({ key: k.key }, { headers: { 'x-api-key': caller.key } });
      const third = await keys.verifyApiKey({ key: k.key }, { headers: { 'x-api-key': caller.key } });
      expect(third).toMatchObject({ valid: false, code: 'USAGE_EXCEEDED' });
    });
  });
}
