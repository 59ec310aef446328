// The one Cache: LRU order and size bound, TTL on the injected clock (advanced, never slept), one
// load for concurrent misses, invalidation (also of a load under way), and the trust bound.
import { describe, expect, it } from 'vitest';
import { Cache, type CacheContext, localCacheContext } from '../../src/modules/common/cache.js';
import { OffsetClock } from '../../src/modules/common/clock.js';

function setup(o: { max?: number; ttlMs?: number; maxAgeMs?: () => number } = {}) {
  const clock = new OffsetClock();
  const ctx: CacheContext = o.maxAgeMs ? { clock, maxAgeMs: o.maxAgeMs } : localCacheContext(clock);
  const loads: string[] = [];
  const cache = new Cache<string | null>(ctx, { max: o.max ?? 100, ttlMs: o.ttlMs ?? 60_000, ttlOf: (v) => (v === null ? 5_000 : 60_000) });
  const load = async (k: string) => {
    loads.push(k);
    return k === 'missing' ? null : `value of ${k}`;
  };
  return { clock, cache, loads, load };
}

describe('Cache', () => {
  it('50 concurrent misses for one key run one load, and every caller gets its answer', async () => {
    const { cache, loads } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const load = async (k: string) => {
      loads.push(k);
      await gate;
      return `value of ${k}`;
    };
    const all = Promise.all(Array.from({ length: 50 }, () => cache.get('a', load)));
    release();
    expect(await all).toEqual(Array(50).fill('value of a'));
    expect(loads).toEqual(['a']);
    expect(await cache.get('a', load)).toBe('value of a');
    expect(loads).toEqual(['a']);
  });

  it('expires on the injected clock: a positive answer after its TTL, a negative one sooner', async () => {
    const { clock, cache, loads, load } = setup();
    await cache.get('a', load);
    await cache.get('missing', load);
    clock.advance(4);
    await cache.get('a', load);
    expect(await cache.get('missing', load)).toBeNull();
    expect(loads).toEqual(['a', 'missing']);
    clock.advance(2); // 6 s: the negative entry is gone, the positive one stays
    await cache.get('a', load);
    await cache.get('missing', load);
    expect(loads).toEqual(['a', 'missing', 'missing']);
    clock.advance(55); // 61 s
    await cache.get('a', load);
    expect(loads).toEqual(['a', 'missing', 'missing', 'a']);
  });

  it('evicts the least recently used entry, not the oldest', async () => {
    const { cache, loads, load } = setup({ max: 2 });
    await cache.get('a', load);
    await cache.get('b', load);
    await cache.get('a', load); // a is now the most recently used
    await cache.get('c', load); // evicts b
    expect(cache.peek('a')).toBe('value of a');
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.size).toBe(2);
    expect(loads).toEqual(['a', 'b', 'c']);
  });

  it('delete, deleteWhere and clear drop entries; a load that raced them is not stored', async () => {
    const { cache, loads, load } = setup();
    await cache.get('a', load);
    await cache.get('b', load);
    cache.delete('a');
    expect(cache.peek('a')).toBeUndefined();
    cache.deleteWhere((v) => v === 'value of b');
    expect(cache.peek('b')).toBeUndefined();

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = async (k: string) => {
      loads.push(k);
      await gate;
      return 'before the change';
    };
    const racing = cache.get('c', slow);
    cache.clear(); // the change commits while the load is under way
    const after = cache.get('c', load); // a caller after the change starts its own load
    release();
    expect(await racing).toBe('before the change');
    expect(await after).toBe('value of c');
    expect(cache.peek('c')).toBe('value of c');
  });

  it('a failed load is not cached and does not block the next caller', async () => {
    const { cache } = setup();
    await expect(cache.get('a', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await cache.get('a', async () => 'ok')).toBe('ok');
  });

  it('entries older than maxAgeMs() count as misses (the bus is lost), fresh ones still serve', async () => {
    let maxAge = Infinity;
    const { clock, cache, loads, load } = setup({ maxAgeMs: () => maxAge });
    await cache.get('old', load);
    clock.advance(10);
    await cache.get('young', load);
    maxAge = 5_000;
    clock.advance(1);
    await cache.get('old', load); // 11 s old: read through
    await cache.get('young', load); // 1 s old: trusted
    expect(loads).toEqual(['old', 'young', 'old']);
    maxAge = Infinity;
    clock.advance(30);
    await cache.get('young', load);
    expect(loads).toEqual(['old', 'young', 'old']);
  });
});
