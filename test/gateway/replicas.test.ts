// Two replicas sharing Redis and PostgreSQL, both running the built-in gateway: a key with
// rateLimit.requestsPerMinute 60 gets exactly 60 product requests through, wherever they land.
// Only with TEST_REDIS_URL and TEST_DATABASE_URL (PGlite cannot be shared between servers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookie, createKey, newUser, startWorld, type World } from '../apikey/fixtures.js';
import { rest } from '../helpers/clients.js';
import { onRealPostgres } from '../helpers/server.js';
import { type Echo, gatewayEnv, startEcho, writePolicy } from './fixtures.js';

const REDIS_URL = process.env.TEST_REDIS_URL;

describe.skipIf(!REDIS_URL || !onRealPostgres)('two gateway replicas sharing Redis and PostgreSQL', () => {
  let a: World;
  let b: World;
  let echo: Echo;

  beforeAll(async () => {
    echo = await startEcho();
    const { file } = await writePolicy();
    const env = gatewayEnv(file, { GATEWAY_UPSTREAM: echo.url, REDIS_URL: REDIS_URL!, REDIS_KEY_PREFIX: `lk-gw-${Date.now().toString(36)}:` });
    a = await startWorld(env);
    b = await startWorld(env, { databaseUrl: a.server.databaseUrl });
  }, 180_000);
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await echo?.stop();
  });

  it('rateLimit.requestsPerMinute: 60 lets exactly 60 of 70 concurrent product requests through across both', async () => {
    const u = await newUser(a, 'Replicas');
    const k = await createKey(a, cookie(u, { orgid: u.organizationId }), { name: 'build pipeline', scopes: ['read', 'write'], rateLimit: { requestsPerMinute: 60 } });
    const before = echo.received.length;
    const statuses = await Promise.all(
      Array.from({ length: 70 }, (_, i) => rest(i % 2 ? b.url : a.url, 'GET', '/data/contact', { headers: { orgid: u.organizationId, 'x-api-key': k.key } }).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    expect(echo.received.length - before).toBe(60);
    // Latchkey's own routes draw from the same budget: the key is spent there too.
    expect((await rest(b.url, 'GET', '/api/user/me', { headers: { 'x-api-key': k.key } })).status).toBe(429);
  });
});
