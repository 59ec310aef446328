// Redis is optional and honest. Start-up against an unreachable REDIS_URL exits non-zero within 15 s
// naming REDIS_URL (runs anywhere: it needs no Redis). With a private redis-server child that the test
// kills and restarts: every key and channel carries REDIS_KEY_PREFIX; while Redis is away, requests
// that need it fail closed at once (503 with a clear message, no hang) and those that do not keep
// working; when it is back, everything recovers by itself.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import { createLogger } from '../../src/log.js';
import { RedisUnavailableError } from '../../src/modules/common/redis.js';
import { cookie, createKey, newUser, startWorld, type World, xApiKey } from '../apikey/fixtures.js';
import type { TestUser } from '../helpers/accounts.js';
import { PASSWORD } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { freePort, type RedisChild, startRedisServer, testRedisUrl, uniquePrefix, within } from '../helpers/redis.js';

describe('start-up with REDIS_URL unreachable', () => {
  it('createDeps gives up within 15 s (REDIS_CONNECT_TIMEOUT_SECONDS, 5 s) with an error naming REDIS_URL', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-noredis-'));
    const config = loadConfig({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    const started = Date.now();
    try {
      const err = await createDeps(config, createLogger('silent')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RedisUnavailableError);
      expect((err as Error).message).toMatch(/^REDIS_URL redis:\/\/127\.0\.0\.1:\d+\/? is unreachable after 5 s \(connect ECONNREFUSED/);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(existsSync(path.join(dataDir, 'pglite'))).toBe(false); // it stopped before opening the database
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 30_000);

  // Process start-up (tsx) takes seconds on a loaded machine, so the wall-clock bound is asserted above.
  it('`npm start` exits non-zero with that message, no stack trace, no password', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-noredis-'));
    const port = await freePort(); // nothing listens there
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: path.resolve(import.meta.dirname, '../..'),
        env: { ...process.env, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', REDIS_URL: `redis://:hunter2-password@127.0.0.1:${port}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(null);
        }, 80_000);
        child.once('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code).not.toBeNull();
      expect(code).not.toBe(0);
      expect(stderr).toMatch(/REDIS_URL redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/? is unreachable/);
      expect(stderr).not.toContain('hunter2'); // the password is not printed
      expect(stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe.skipIf(!testRedisUrl)('Redis goes away and comes back (a private redis-server)', () => {
  let redis: RedisChild;
  let w: World;
  let u: TestUser;
  const prefix = uniquePrefix('honest');
  beforeAll(async () => {
    redis = await startRedisServer();
    w = await startWorld({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix });
    u = await newUser(w, 'Honest');
  });
  afterAll(async () => {
    await w?.stop();
    await redis?.kill();
  });

  const me = (key: string) => rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(key) });

  it('every key and channel Latchkey uses carries REDIS_KEY_PREFIX', async () => {
    const limited = await createKey(w, cookie(u), { scopes: ['user:read'], rateLimit: { requestsPerMinute: 100 }, remaining: 50 });
    expect((await me(limited.key)).status).toBe(200);
    const r = new Redis(redis.url);
    try {
      const keys = await r.keys('*');
      expect(keys.length).toBeGreaterThan(0); // rate-limit windows, credits, auth throttles
      expect(keys.filter((k) => !k.startsWith(prefix))).toEqual([]);
      expect(keys.some((k) => k.startsWith(`${prefix}rl:`))).toBe(true);
      const channels = (await r.call('pubsub', 'channels', '*')) as string[];
      expect(channels).toEqual([`${prefix}invalidate`]);
    } finally {
      r.disconnect();
    }
  });

  it('while Redis is down: limits fail closed at once with 503, other requests are served; then it recovers by itself', async () => {
    const limited = await createKey(w, cookie(u), { scopes: ['user:read'], rateLimit: { requestsPerMinute: 1000 } });
    const plain = await createKey(w, cookie(u), { scopes: ['user:read'] });
    expect((await me(limited.key)).status).toBe(200);
    expect((await me(plain.key)).status).toBe(200);

    await redis.kill();
    const t0 = Date.now();
    const refused = await me(limited.key);
    expect(Date.now() - t0).toBeLessThan(3_000); // no hang: the offline queue is off, commands time out
    expect(refused.status).toBe(503);
    expect(refused.body.message).toMatch(/Rate limiter unavailable \(Redis\)/);
    const signIn = await rest(w.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } });
    expect(signIn.status).toBe(503); // the sign-in throttle cannot count: refused, not unthrottled
    // Nothing else needs Redis.
    expect((await me(plain.key)).status).toBe(200);
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: cookie(u) })).status).toBe(200);
    expect(w.server.deps.bus.healthy()).toBe(false);

    await redis.start();
    const back = await within(15_000, async () => (await me(limited.key)).status === 200);
    expect(back).toBeGreaterThanOrEqual(0);
    expect(await within(5_000, async () => w.server.deps.bus.healthy())).toBeGreaterThanOrEqual(0);
    expect((await rest(w.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } })).status).toBe(200);
  }, 40_000);
});
