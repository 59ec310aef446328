// The hot path's memory: SHA-256 of a key → its record (or a short-lived "no such key"), on the one
// Cache primitive. Entries are dropped at once on every change (revoke, regenerate, update, role
// change, membership removal, organization deletion, owner suspension), on every replica through
// the invalidation bus, and expire after a minute anyway.
import type { Invalidation } from '../common/bus.js';
import { Cache, type CacheContext } from '../common/cache.js';
import type { KeyRecord } from './record.js';

const TTL_MS = 60_000;
const NEGATIVE_TTL_MS = 10_000;
const MAX_ENTRIES = 100_000;

export class KeyCache {
  private readonly byHash: Cache<KeyRecord | null>;
  /** key id → hash of its cached record (a stale entry is harmless: peekById re-checks the id). */
  private readonly hashOfId: Cache<string>;

  constructor(ctx: CacheContext) {
    this.byHash = new Cache(ctx, { max: MAX_ENTRIES, ttlMs: TTL_MS, ttlOf: (r) => (r ? TTL_MS : NEGATIVE_TTL_MS) });
    this.hashOfId = new Cache(ctx, { max: MAX_ENTRIES, ttlMs: TTL_MS });
  }

  /** Cached record, `null` for a recently unknown hash, undefined on a miss. */
  peek(hash: string): KeyRecord | null | undefined {
    return this.byHash.peek(hash);
  }

  /** Cached record of the key with this id (introspection of tokens issued from a key). */
  peekById(keyId: string): KeyRecord | undefined {
    const hash = this.hashOfId.peek(keyId);
    const r = hash === undefined ? undefined : this.peek(hash);
    return r && r.id === keyId ? r : undefined;
  }

  /** The record for `hash`, loading it at most once however many requests ask at the same time. */
  get(hash: string, load: () => Promise<KeyRecord | null>): KeyRecord | null | Promise<KeyRecord | null> {
    return this.byHash.get(hash, async () => {
      const record = await load();
      if (record) this.hashOfId.set(record.id, hash);
      return record;
    });
  }

  apply(inv: Invalidation): void {
    if ('all' in inv) {
      this.byHash.clear();
      this.hashOfId.clear();
      return;
    }
    // Each kind names what it drops; kinds about other credentials (sessions, OAuth) drop no key.
    // Negative entries cannot become valid through these changes (a new secret is a new hash).
    let match: ((r: KeyRecord) => boolean) | undefined;
    if ('keyId' in inv) match = (r) => r.id === inv.keyId;
    else if ('userId' in inv) match = (r) => r.userId === inv.userId;
    else if ('organizationId' in inv) {
      const org = inv.organizationId;
      match = (r) => r.organizationId === org || r.clientOrganizationId === org || r.pinnedOrganizationId === org;
    }
    if (!match) return;
    this.byHash.deleteWhere((r) => r !== null && match(r));
  }

  get size(): number {
    return this.byHash.size;
  }
}
