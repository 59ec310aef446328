// Where a key may act: a pinned key (or a client key) only in its one organization; a key of an
// organization only there, except a partner key, which also reaches its partner's portfolio; a
// personal access token wherever its owner is a member. The tenancy interceptor calls `assertReach`
// for every tenant-scoped RPC; the API-key RPCs use it through `roleIn`.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Cache, type CacheContext } from '../common/cache.js';
import { forbidden } from '../common/errors.js';
import { isUlid } from '../common/ids.js';
import type { Principal } from '../common/principal.js';
import type { OrgService } from '../org/org.service.js';
import type { Role } from '../org/roles.js';

export class KeyReach {
  /** organizationId → its partner's id ('' = none); invalidated with the organization. */
  private readonly partners: Cache<string>;

  constructor(
    private readonly em: EntityManager,
    private readonly orgs: OrgService,
    caches: CacheContext,
  ) {
    this.partners = new Cache(caches, { max: 50_000, ttlMs: 60_000 });
  }

  private async partnerOf(organizationId: string): Promise<string> {
    return this.partners.get(organizationId, async () => {
      const rows = isUlid(organizationId) ? await this.em.execute<{ partner_id: string | null }[]>('select partner_id from organizations where id = ?', [organizationId]) : [];
      return rows[0]?.partner_id ?? '';
    });
  }

  forget(organizationId?: string): void {
    if (organizationId) this.partners.delete(organizationId);
    else this.partners.clear();
  }

  /** Throws 403 when a key (or an exchanged token) may not act in `organizationId`. */
  async assertReach(p: Principal, organizationId: string): Promise<void> {
    if (p.kind === 'jwt') {
      if (p.organizationId && p.organizationId !== organizationId) throw forbidden('This credential is pinned to another organization', 'TENANT_FORBIDDEN');
      return;
    }
    if (p.kind !== 'apiKey') return;
    if (p.pinnedOrganizationId) {
      if (p.pinnedOrganizationId !== organizationId) throw forbidden('This API key is pinned to another organization', 'TENANT_FORBIDDEN');
      return;
    }
    if (!p.organizationId || p.organizationId === organizationId) return;
    if (p.partner === 'partner' && (await this.partnerOf(organizationId)) === p.organizationId) return;
    throw forbidden('This API key belongs to another organization', 'TENANT_FORBIDDEN');
  }

  roleOfUser(userId: string, organizationId: string): Promise<Role | undefined> {
    return this.orgs.roleOf(userId, organizationId);
  }

  /** The caller's role in the organization after the reach check; undefined when not a member. */
  async roleIn(p: Principal, organizationId: string): Promise<Role | undefined> {
    await this.assertReach(p, organizationId);
    return this.orgs.roleOf(p.userId, organizationId);
  }
}
