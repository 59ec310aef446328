// The reusable limiter: exact under concurrency, in memory and on the real Redis (TEST_REDIS_URL).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/modules/common/clock.js';
import { RateLimitedError } from '../../src/modules/common/errors.js';
import { consume, MemoryRateLimiter, type RateLimiter, RedisRateLimiter } from '../../src/modules/ratelimit/index.js';
import { testRedisUrl } from '../helpers/redis.js';

async function burst(limiter: RateLimiter, key: string, n: number, limit: number, window = 60) {
  return Promise.all(Array.from({ length: n }, () => limiter.hit(key, limit, window)));
}

describe('MemoryRateLimiter', () => {
  it('allows exactly `limit` of many concurrent hits and reports remaining and reset', async () => {
    const clock = new OffsetClock();
    const l = new MemoryRateLimiter(clock);
    const results = await burst(l, 'k', 100, 37);
    expect(results.filter((r) => r.allowed)).toHaveLength(37);
    expect(results[0]).toEqual({ allowed: true, limit: 37, remaining: 36, resetSeconds: 60 });
    expect(results[99]).toMatchObject({ allowed: false, remaining: 0 });
    expect((await l.hit('other', 37, 60)).allowed).toBe(true);
    clock.advance(60);
    expect(await l.hit('k', 37, 60)).toMatchObject({ allowed: true, remaining: 36 });
  });

  it('consume throws RateLimitedError carrying the numbers for the 429 headers', async () => {
    const l = new MemoryRateLimiter(new OffsetClock());
    await consume(l, 'c', 1, 30);
    const err = await consume(l, 'c', 1, 30).catch((e) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err).toMatchObject({ limit: 1, remaining: 0, resetSeconds: 30, reason: 'RATE_LIMITED' });
  });
});

describe.skipIf(!testRedisUrl)('RedisRateLimiter (real Redis)', () => {
  const prefix = `latchkey-test:${randomBytes(6).toString('hex')}:`;
  let a: Redis;
  let b: Redis;
  beforeAll(() => {
    a = new Redis(testRedisUrl!);
    b = new Redis(testRedisUrl!);
  });
  afterAll(async () => {
    const keys = await a.keys(`${prefix}*`);
    if (keys.length) await a.del(...keys);
    await a.quit();
    await b.quit();
  });

  it('allows exactly `limit` of concurrent hits spread over two connections (two replicas)', async () => {
    const one = new RedisRateLimiter(a, prefix);
    const two = new RedisRateLimiter(b, prefix);
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 ? one : two).hit('shared', 50, 60)));
    expect(results.filter((r) => r.allowed)).toHaveLength(50);
    expect(results.filter((r) => !r.allowed).every((r) => r.remaining === 0)).toBe(true);
    const ttl = await a.pttl(`${prefix}shared`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('reports remaining and reset; keys are independent; an expired window starts over', async () => {
    const l = new RedisRateLimiter(a, prefix);
    expect(await l.hit('x', 3, 60)).toEqual({ allowed: true, limit: 3, remaining: 2, resetSeconds: 60 });
    expect(await l.hit('y', 3, 60)).toMatchObject({ remaining: 2 });
    await a.pexpire(`${prefix}x`, 1); // end the window without waiting for it
    await new Promise((r) => setTimeout(r, 5));
    expect(await l.hit('x', 3, 60)).toMatchObject({ allowed: true, remaining: 2 });
  });

  it('uses one round trip per hit (a Lua script, no MULTI)', async () => {
    const monitor = new Redis(testRedisUrl!);
    try {
      const l = new RedisRateLimiter(a, prefix);
      await l.hit('warm', 5, 60); // loads the script
      let commands = 0;
      const m = await monitor.monitor();
      m.on('monitor', (_t: string, args: string[]) => {
        if (args.some((x) => String(x).includes(`${prefix}rt`))) commands++;
      });
      await new Promise((r) => setTimeout(r, 50));
      await l.hit('rt', 5, 60);
      await new Promise((r) => setTimeout(r, 100));
      expect(commands).toBe(4); // EVALSHA + the INCR, PTTL, PEXPIRE it runs inside Redis
      m.disconnect();
    } finally {
      monitor.disconnect();
    }
  });
});
