// The one cache of the server (and the client SDK): lru-cache for LRU order, the size bound and TTLs,
// read on the injected clock; concurrent misses for one key share one load; invalidation is explicit.
// Every cache of a replica also honours `maxAgeMs()`: while cross-replica invalidations may be lost
// (the bus is down) entries older than a few seconds count as misses, so changes made elsewhere show.
import { LRUCache } from 'lru-cache';
import type { Clock } from './clock.js';

/** What the caches of one process share. */
export interface CacheContext {
  clock: Clock;
  /** Age (ms) beyond which an entry is not trusted: Infinity while invalidations arrive, small when they may not. */
  maxAgeMs(): number;
  /**
   * True when a miss must load on its own, neither joining nor storing: inside a database transaction
   * (joining another request's load could wait for the connection this transaction holds, and what
   * the transaction reads is not committed yet).
   */
  loadAlone?(): boolean;
}

/** For a single process, which sees all its own changes. */
export const localCacheContext = (clock: Clock): CacheContext => ({ clock, maxAgeMs: () => Infinity });

export interface CacheOptions<V> {
  /** Most entries kept; the least recently used goes first. */
  max: number;
  ttlMs: number;
  /** A TTL per value (e.g. shorter for "not found"); 0 or less = do not store. */
  ttlOf?: (value: V) => number;
}

const one = () => 1;

interface Box<V> {
  value: V;
  /** When it was stored (clock ms): the age that `maxAgeMs` bounds. */
  at: number;
}

/** Keys are strings; a value may be null (a cached "not found") but never undefined. */
export class Cache<V> {
  private readonly lru: LRUCache<string, Box<V>>;
  private readonly pending = new Map<string, Promise<V>>();
  /** Bumped on every invalidation: a load that raced one does not store its (maybe stale) answer. */
  private generation = 0;

  constructor(
    private readonly ctx: CacheContext,
    private readonly o: CacheOptions<V>,
  ) {
    // The bound is a size (every entry counts 1), not lru-cache's `max`: with `max` it allocates its
    // arrays for every slot up front (20 caches of 50k–200k slots took 55 MiB of an idle server's
    // heap); with `maxSize` they grow with the entries actually cached.
    // ttlResolution 0: read the clock on every check, so a test that advances it sees expiry at once.
    this.lru = new LRUCache<string, Box<V>>({ max: 0, maxSize: o.max, sizeCalculation: one, ttl: o.ttlMs, ttlResolution: 0, perf: { now: () => this.now() } });
  }

  private now(): number {
    return this.ctx.clock.now().getTime();
  }

  /** The cached value, or undefined on a miss (expired or older than the trusted age included). */
  peek(key: string): V | undefined {
    const box = this.lru.get(key);
    if (!box) return undefined;
    if (this.now() - box.at > this.ctx.maxAgeMs()) {
      this.lru.delete(key);
      return undefined;
    }
    return box.value;
  }

  /** The value for `key`; on a miss `load` runs once however many callers ask at the same time. */
  get(key: string, load: (key: string) => Promise<V>): V | Promise<V> {
    const hit = this.peek(key);
    if (hit !== undefined) return hit;
    if (this.ctx.loadAlone?.()) return load(key);
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    const generation = this.generation;
    const p: Promise<V> = Promise.resolve()
      .then(() => load(key))
      .then(
        (value) => {
          if (this.pending.get(key) === p) this.pending.delete(key);
          if (generation === this.generation) this.set(key, value);
          return value;
        },
        (e: unknown) => {
          if (this.pending.get(key) === p) this.pending.delete(key);
          throw e;
        },
      );
    this.pending.set(key, p);
    return p;
  }

  set(key: string, value: V, ttlMs: number = this.o.ttlOf?.(value) ?? this.o.ttlMs): void {
    if (ttlMs <= 0) return;
    this.lru.set(key, { value, at: this.now() }, { ttl: Math.min(ttlMs, this.o.ttlMs) });
  }

  delete(key: string): void {
    this.invalidated();
    this.lru.delete(key);
  }

  /** Drop every entry whose value (or key) matches, e.g. all sessions of a user. */
  deleteWhere(match: (value: V, key: string) => boolean): void {
    this.invalidated();
    const doomed: string[] = [];
    for (const [k, box] of this.lru.entries()) if (match(box.value, k)) doomed.push(k);
    for (const k of doomed) this.lru.delete(k);
  }

  clear(): void {
    this.invalidated();
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }

  private invalidated(): void {
    this.generation++;
    // Later callers start a fresh load; the ones already waiting get the answer they asked for.
    this.pending.clear();
  }
}
