// The hot path's memory: SHA-256 of a key → its record (or a short-lived "no such key"). Entries
// are dropped at once on every change (revoke, regenerate, update, role change, membership removal,
// organization deletion) and expire after a minute anyway (e.g. an owner suspended elsewhere).
import type { KeyRecord } from './record.js';

export type KeyInvalidation = { keyId: string } | { userId: string } | { organizationId: string } | { all: true };

interface Entry {
  record: KeyRecord;
  expires: number;
}

const TTL_MS = 60_000;
const NEGATIVE_TTL_MS = 10_000;
const MAX_ENTRIES = 100_000;
const MAX_NEGATIVE = 20_000;

export class KeyCache {
  private readonly byHash = new Map<string, Entry>();
  private readonly negative = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<KeyRecord | null>>();
  /** key id → hash of its cached record (stale entries are harmless: peekById re-checks the id). */
  private readonly hashOfId = new Map<string, string>();
  /** Bumped on every invalidation: a load that raced one does not store its (maybe stale) answer. */
  private generation = 0;

  /** Cached record, `null` for a recently unknown hash, undefined on a miss. */
  peek(hash: string, now = Date.now()): KeyRecord | null | undefined {
    const hit = this.byHash.get(hash);
    if (hit) {
      if (hit.expires > now) return hit.record;
      this.byHash.delete(hash);
    }
    const neg = this.negative.get(hash);
    if (neg !== undefined) {
      if (neg > now) return null;
      this.negative.delete(hash);
    }
    return undefined;
  }

  /** Cached record of the key with this id (introspection of tokens issued from a key). */
  peekById(keyId: string): KeyRecord | undefined {
    const hash = this.hashOfId.get(keyId);
    const r = hash === undefined ? undefined : this.peek(hash);
    return r && r.id === keyId ? r : undefined;
  }

  /** The record for `hash`, loading it at most once however many requests ask at the same time. */
  get(hash: string, load: () => Promise<KeyRecord | null>): KeyRecord | null | Promise<KeyRecord | null> {
    const cached = this.peek(hash);
    if (cached !== undefined) return cached;
    let p = this.inflight.get(hash);
    if (!p) {
      const generation = this.generation;
      p = load().then(
        (record) => {
          this.inflight.delete(hash);
          if (generation === this.generation) this.store(hash, record);
          return record;
        },
        (e) => {
          this.inflight.delete(hash);
          throw e;
        },
      );
      this.inflight.set(hash, p);
    }
    return p;
  }

  private store(hash: string, record: KeyRecord | null): void {
    const now = Date.now();
    if (!record) {
      if (this.negative.size >= MAX_NEGATIVE) this.negative.delete(this.negative.keys().next().value!);
      this.negative.set(hash, now + NEGATIVE_TTL_MS);
      return;
    }
    if (this.byHash.size >= MAX_ENTRIES) this.byHash.delete(this.byHash.keys().next().value!);
    this.byHash.set(hash, { record, expires: now + TTL_MS });
    if (this.hashOfId.size >= MAX_ENTRIES) this.hashOfId.delete(this.hashOfId.keys().next().value!);
    this.hashOfId.set(record.id, hash);
  }

  apply(inv: KeyInvalidation): void {
    this.generation++;
    this.inflight.clear();
    if ('all' in inv) {
      this.byHash.clear();
      this.negative.clear();
      this.hashOfId.clear();
      return;
    }
    // Negative entries cannot become valid through these changes (a new secret is a new hash).
    const match =
      'keyId' in inv
        ? (r: KeyRecord) => r.id === inv.keyId
        : 'userId' in inv
          ? (r: KeyRecord) => r.userId === inv.userId
          : (r: KeyRecord) => r.organizationId === inv.organizationId || r.clientOrganizationId === inv.organizationId || r.pinnedOrganizationId === inv.organizationId;
    for (const [hash, e] of this.byHash) if (match(e.record)) this.byHash.delete(hash);
  }

  get size(): number {
    return this.byHash.size;
  }
}
