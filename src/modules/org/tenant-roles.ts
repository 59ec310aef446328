// Who may act in an organization, and with which role: a direct membership, or the role of an admin
// of the partner whose portfolio holds it. Cached for the hot path (one Cache, keyed user:org); every
// change that can alter an answer invalidates it here and tells `onInvalidate` listeners, which put
// it on the invalidation bus for the other replicas (whose answers come back through `apply`).
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Invalidation } from '../common/bus.js';
import { Cache, type CacheContext } from '../common/cache.js';
import { isUlid } from '../common/ids.js';
import { isRole, PARTNER_ROLE_IN_CLIENT, type Role, roleRank } from './roles.js';

export interface TenantAccess {
  role: Role;
  /** True when the role comes from the partner organization, not a membership of this one. */
  viaPartner: boolean;
}

/** What changed: every answer about a user, about an organization, or everything. */
export type RoleInvalidation = { userId: string } | { organizationId: string } | { all: true };

const TTL_MS = 60_000;
const MAX_ENTRIES = 200_000;

export class TenantRoles {
  /** "userId:organizationId" → answer (null = no access, cached too). */
  private readonly cache: Cache<TenantAccess | null>;
  private readonly listeners: ((inv: RoleInvalidation) => void)[] = [];

  constructor(
    private readonly em: EntityManager,
    caches: CacheContext,
  ) {
    this.cache = new Cache(caches, { max: MAX_ENTRIES, ttlMs: TTL_MS });
  }

  async accessOf(userId: string, organizationId: string): Promise<TenantAccess | undefined> {
    if (!isUlid(organizationId)) return undefined; // no query, and nothing cached, for ids that cannot exist
    const access = await this.cache.get(`${userId}:${organizationId}`, () => this.load(userId, organizationId));
    return access ?? undefined;
  }

  /** Register a listener for local invalidations (to publish them to other replicas). */
  onInvalidate(listener: (inv: RoleInvalidation) => void): void {
    this.listeners.push(listener);
  }

  /** Forget answers after a committed change, and tell the listeners. */
  invalidate(inv: RoleInvalidation): void {
    this.apply(inv);
    for (const l of this.listeners) l(inv);
  }

  /** Apply an invalidation from the bus (not re-published). */
  apply(inv: Invalidation): void {
    if ('all' in inv) this.cache.clear();
    else if ('userId' in inv) this.cache.deleteWhere((_, key) => key.startsWith(`${inv.userId}:`));
    else if ('organizationId' in inv) this.cache.deleteWhere((_, key) => key.endsWith(`:${inv.organizationId}`));
  }

  /** Uncached, with `em` (e.g. inside a transaction that has locked the organization). */
  async load(userId: string, organizationId: string, em: EntityManager = this.em): Promise<TenantAccess | null> {
    const { direct, viaPartner } = roleSql('?', '?');
    const [row] = await em.execute<{ direct_role: string | null; partner_role: string | null }[]>(`select ${direct} as direct_role, ${viaPartner} as partner_role`, [
      userId,
      organizationId,
      userId,
      organizationId,
    ]);
    return accessFrom(row?.direct_role ?? null, row?.partner_role ?? null);
  }
}

/**
 * The role rule in SQL, over SQL expressions for the user and the organization: the direct membership,
 * and an admin role in the partner whose portfolio holds the organization, which confers at most
 * PARTNER_ROLE_IN_CLIENT (admin, never root_admin). The API-key loader folds the same sub-selects into
 * its one query. Both are read live, so the partner's reach ends with the link or the partner membership.
 */
export function roleSql(user: string, org: string): { direct: string; viaPartner: string } {
  return {
    direct: `(select m.role from memberships m where m.user_id = ${user} and m.organization_id = ${org})`,
    viaPartner: `(select '${PARTNER_ROLE_IN_CLIENT}' from organizations co
       join organizations po on po.id = co.partner_id and po.type = 'partner'
       join memberships pm on pm.organization_id = po.id and pm.user_id = ${user} and pm.role in ('admin', 'root_admin')
      where co.id = ${org} limit 1)`,
  };
}

/** The stronger of the two sources; a direct membership wins a tie. */
export function accessFrom(direct: string | null, viaPartner: string | null): TenantAccess | null {
  const d = direct && isRole(direct) ? direct : null;
  const v = viaPartner && isRole(viaPartner) ? viaPartner : null;
  if (v && (!d || roleRank(v) > roleRank(d))) return { role: v, viaPartner: true };
  return d ? { role: d, viaPartner: false } : null;
}
