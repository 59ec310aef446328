// A bounded in-memory cache with per-entry expiry (insertion-ordered eviction).
export class TtlCache<V> {
  private readonly map = new Map<string, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  get(key: string): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    if (hit.expires < Date.now()) {
      this.map.delete(key);
      return undefined;
    }
    return hit.value;
  }

  set(key: string, value: V, ttlMs = this.ttlMs): void {
    if (this.map.size >= this.maxEntries) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, { value, expires: Date.now() + ttlMs });
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  /** Drop every entry whose value matches (e.g. all sessions of a user). */
  deleteWhere(pred: (value: V) => boolean): void {
    for (const [k, v] of this.map) if (pred(v.value)) this.map.delete(k);
  }

  clear(): void {
    this.map.clear();
  }
}
