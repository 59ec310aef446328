// Who may act in an organization, and with which role: a direct membership, or the role of an admin
// of the partner whose portfolio holds it. Cached in memory for the hot path; every change that can
// alter an answer invalidates it here and tells `onInvalidate` listeners (other replicas, via pub/sub).
import type { EntityManager } from '@mikro-orm/postgresql';
import { isUlid } from '../common/ids.js';
import { isRole, roleRank, type Role } from './roles.js';

export interface TenantAccess {
  role: Role;
  /** True when the role comes from the partner organization, not a membership of this one. */
  viaPartner: boolean;
}

/** What changed: every answer about a user, about an organization, or everything. */
export type RoleInvalidation = { userId: string } | { organizationId: string } | { all: true };

interface Entry {
  access: TenantAccess | null;
  expires: number;
}

const TTL_MS = 60_000;
const MAX_USERS = 50_000;
const MAX_ORGS_PER_USER = 1_000;

export class TenantRoles {
  /** userId → organizationId → answer (null = no access, cached too). */
  private readonly cache = new Map<string, Map<string, Entry>>();
  /** Bumped on every invalidation: a lookup that raced one does not store its stale answer. */
  private generation = 0;
  private readonly listeners: ((inv: RoleInvalidation) => void)[] = [];

  constructor(private readonly em: EntityManager) {}

  async accessOf(userId: string, organizationId: string): Promise<TenantAccess | undefined> {
    if (!isUlid(organizationId)) return undefined; // no query, and nothing cached, for ids that cannot exist
    const hit = this.cache.get(userId)?.get(organizationId);
    if (hit && hit.expires > Date.now()) return hit.access ?? undefined;
    const generation = this.generation;
    const access = await this.load(userId, organizationId);
    if (generation === this.generation) this.store(userId, organizationId, access);
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

  /** Apply an invalidation received from another replica (not re-published). */
  apply(inv: RoleInvalidation): void {
    this.generation++;
    if ('all' in inv) this.cache.clear();
    else if ('userId' in inv) this.cache.delete(inv.userId);
    else for (const orgs of this.cache.values()) orgs.delete(inv.organizationId);
  }

  private store(userId: string, organizationId: string, access: TenantAccess | null): void {
    let orgs = this.cache.get(userId);
    if (!orgs) {
      if (this.cache.size >= MAX_USERS) this.cache.delete(this.cache.keys().next().value!);
      orgs = new Map();
      this.cache.set(userId, orgs);
    }
    if (orgs.size >= MAX_ORGS_PER_USER) orgs.delete(orgs.keys().next().value!);
    orgs.set(organizationId, { access, expires: Date.now() + TTL_MS });
  }

  /** Uncached, with `em` (e.g. inside a transaction that has locked the organization). */
  async load(userId: string, organizationId: string, em: EntityManager = this.em): Promise<TenantAccess | null> {
    // One round trip: the direct membership, and the caller's admin role in the organization's partner.
    const rows = await em.execute<{ role: string; via_partner: boolean }[]>(
      `select m.role, false as via_partner from memberships m where m.user_id = ? and m.organization_id = ?
       union all
       select pm.role, true as via_partner from organizations o
         join organizations p on p.id = o.partner_id and p.type = 'partner'
         join memberships pm on pm.organization_id = p.id and pm.user_id = ?
        where o.id = ? and pm.role in ('admin', 'root_admin')`,
      [userId, organizationId, userId, organizationId],
    );
    let best: TenantAccess | null = null;
    for (const r of rows) {
      if (!isRole(r.role)) continue;
      if (!best || roleRank(r.role) > roleRank(best.role)) best = { role: r.role, viaPartner: !!r.via_partner };
    }
    return best;
  }
}
