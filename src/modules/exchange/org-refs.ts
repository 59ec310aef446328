// The organization named in a path: its id (a ULID) or its slug. Answers are cached briefly so a warm
// exchange reads no database; a renamed slug keeps resolving to its organization for at most a minute.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Cache, type CacheContext } from '../common/cache.js';
import { invalid } from '../common/errors.js';
import { isUlid } from '../common/ids.js';

const SLUG_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const TTL_MS = 60_000;
// Unknown names are remembered only briefly: an organization created a moment later must be found.
const NEGATIVE_TTL_MS = 5_000;

export class OrgRefs {
  /** id or slug → organization id ('' = none). */
  private readonly cache: Cache<string>;

  constructor(
    private readonly em: EntityManager,
    caches: CacheContext,
  ) {
    this.cache = new Cache(caches, { max: 50_000, ttlMs: TTL_MS, ttlOf: (id) => (id ? TTL_MS : NEGATIVE_TTL_MS) });
  }

  /** 400 naming `organization` when the reference cannot be an id or a slug. */
  static parse(raw: string): string {
    const ref = raw.trim();
    if (!ref) throw invalid('organization', 'is required');
    if (!isUlid(ref) && (ref.length > 64 || !SLUG_RE.test(ref))) throw invalid('organization', 'must be an organization id or slug');
    return ref;
  }

  /** The organization id, or undefined when no organization has this id or slug. */
  async resolve(ref: string): Promise<string | undefined> {
    const id = await this.cache.get(ref, async () => {
      const rows = await this.em.execute<{ id: string }[]>(isUlid(ref) ? 'select id from organizations where id = ?' : 'select id from organizations where slug = ?', [ref]);
      return rows[0]?.id ?? '';
    });
    return id || undefined;
  }

  forget(): void {
    this.cache.clear();
  }
}
