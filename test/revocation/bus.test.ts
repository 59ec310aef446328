// The invalidation bus on a private redis-server: messages reach the other replica's listeners (and
// only under the same REDIS_KEY_PREFIX); heartbeats tell a working subscription from a silent one —
// while Redis answers nothing the bus is untrusted and caches fall back to the short bound; when
// messages flow again every cache is cleared once, since some may have been lost.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Invalidation, InvalidationBus } from '../../src/modules/common/bus.js';
import { OffsetClock } from '../../src/modules/common/clock.js';
import { RedisConnections } from '../../src/modules/common/redis.js';
import { type RedisChild, startRedisServer, testRedisUrl, uniquePrefix, within } from '../helpers/redis.js';

const log = pino({ level: 'silent' });

async function replica(url: string, prefix: string) {
  const redis = await RedisConnections.open({ url, prefix, connectTimeoutMs: 5_000, commandTimeoutMs: 500 }, log);
  const bus = new InvalidationBus(new OffsetClock(), log, { trustWithoutBusMs: 5_000, heartbeatMs: 100 });
  const seen: Invalidation[] = [];
  bus.subscribe((inv) => seen.push(inv));
  await bus.connect(redis);
  return {
    bus,
    seen,
    redis,
    async close() {
      await bus.close();
      await redis.close();
    },
  };
}

describe.skipIf(!testRedisUrl)('InvalidationBus', () => {
  let server: RedisChild;
  const prefix = uniquePrefix('bus');
  let a: Awaited<ReturnType<typeof replica>>;
  let b: Awaited<ReturnType<typeof replica>>;
  let stranger: Awaited<ReturnType<typeof replica>>;
  beforeAll(async () => {
    server = await startRedisServer();
    a = await replica(server.url, prefix);
    b = await replica(server.url, prefix);
    stranger = await replica(server.url, uniquePrefix('other-deployment'));
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), stranger?.close()]);
    await server?.kill();
  });

  it('an invalidation is applied here at once and on the other replica, not in another deployment', async () => {
    a.bus.invalidate({ sessionId: 'S1' });
    expect(a.seen.at(-1)).toEqual({ sessionId: 'S1' });
    expect(await within(1_000, async () => b.seen.some((i) => 'sessionId' in i && i.sessionId === 'S1'))).toBeGreaterThanOrEqual(0);
    a.bus.invalidate({ userId: 'U1' });
    expect(await within(1_000, async () => b.seen.some((i) => 'userId' in i && i.userId === 'U1'))).toBeGreaterThanOrEqual(0);
    expect(stranger.seen.filter((i) => !('all' in i))).toEqual([]);
    expect(a.bus.caches.maxAgeMs()).toBe(Infinity);
  });

  it('a silent subscription (Redis paused, sockets open) makes the bus untrusted; when messages flow again caches are cleared', async () => {
    expect(b.bus.healthy()).toBe(true);
    const before = b.seen.filter((i) => 'all' in i).length;
    const admin = new (await import('ioredis')).Redis(server.url);
    try {
      await admin.call('client', 'pause', '1500', 'ALL'); // nothing is answered, nothing is delivered
      expect(await within(3_000, async () => !b.bus.healthy())).toBeGreaterThanOrEqual(0);
      expect(b.bus.caches.maxAgeMs()).toBe(5_000);
      expect(await within(5_000, async () => b.bus.healthy())).toBeGreaterThanOrEqual(0);
      expect(b.seen.filter((i) => 'all' in i).length).toBeGreaterThan(before);
      expect(b.bus.caches.maxAgeMs()).toBe(Infinity);
    } finally {
      admin.disconnect();
    }
  });

  it('a change made while Redis is down reaches the other replica when it is back (the message, or a full clear)', async () => {
    await server.kill();
    expect(await within(3_000, async () => !a.bus.healthy() && !b.bus.healthy())).toBeGreaterThanOrEqual(0);
    const mark = b.seen.length;
    a.bus.invalidate({ keyId: 'K-during-outage' });
    expect(a.seen.at(-1)).toEqual({ keyId: 'K-during-outage' }); // applied here at once regardless
    await server.start();
    const covered = () => b.seen.slice(mark).some((i) => 'all' in i || ('keyId' in i && i.keyId === 'K-during-outage'));
    expect(await within(10_000, async () => covered() && b.bus.healthy())).toBeGreaterThanOrEqual(0);
  }, 20_000);
});
