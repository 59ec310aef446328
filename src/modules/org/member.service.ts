// Members of an organization: list, change a role, remove. Membership changes of one organization
// are serialized by locking its row, so two root_admins cannot demote each other at once.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditLog } from '../audit/audit.service.js';
import type { Actor } from '../audit/events.js';
import { forbidden, notFound } from '../common/errors.js';
import { ulid } from '../common/ids.js';
import { cut, type Page } from '../common/page-token.js';
import { Membership } from './membership.entity.js';
import type { Tenant } from './org.service.js';
import { type Role, roleAtLeast } from './roles.js';
import { assertMayChange, lastRootAdmin } from './rules.js';
import type { TenantRoles } from './tenant-roles.js';

export interface MemberView {
  membershipId: string;
  userId: string;
  email: string;
  fullName: string;
  role: Role;
  joinedAt: Date;
}

interface MemberRow {
  id: string;
  user_id: string;
  role: Role;
  created_at: Date | string;
  email: string;
  full_name: string;
}

const toView = (r: MemberRow): MemberView => ({
  membershipId: r.id,
  userId: r.user_id,
  email: r.email,
  fullName: r.full_name,
  role: r.role,
  joinedAt: new Date(r.created_at),
});

const MEMBER_SQL = `select m.id, m.user_id, m.role, m.created_at, u.email, u.full_name
  from memberships m join users u on u.id = m.user_id where m.organization_id = ?`;

export class MemberService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditLog,
    private readonly roles: TenantRoles,
  ) {}

  /**
   * `userId` joins the organization with `role` inside the caller's transaction `tx`, recorded as
   * `member.added` with how they came (`via`: invitation, sso, …). False when they already belong
   * (a concurrent join included: the unique membership decides). The caller
   * invalidates the user's roles once its transaction has committed.
   */
  async admit(tx: EntityManager, m: { organizationId: string; userId: string; role: Role; actor: Actor; via: string; metadata?: Record<string, unknown> }): Promise<boolean> {
    const now = new Date(); // as the entity's onCreate stamps it
    const inserted = await tx.execute<{ id: string }[]>(
      'insert into memberships (id, organization_id, user_id, role, created_at, updated_at) values (?, ?, ?, ?, ?, ?) on conflict (organization_id, user_id) do nothing returning id',
      [ulid(), m.organizationId, m.userId, m.role, now, now],
    );
    if (!inserted.length) return false;
    this.audit.record(tx, {
      ...m.actor,
      organizationId: m.organizationId,
      type: 'member.added',
      targetType: 'user',
      targetId: m.userId,
      metadata: { role: m.role, via: m.via, ...m.metadata },
    });
    return true;
  }

  /** Oldest membership first (membership ids are time-ordered). */
  async list(organizationId: string, page: Page): Promise<{ items: MemberView[]; next: string }> {
    const rows = page.cursor
      ? await this.em.execute<MemberRow[]>(`${MEMBER_SQL} and m.id > ? order by m.id limit ?`, [organizationId, page.cursor.after, page.size + 1])
      : await this.em.execute<MemberRow[]>(`${MEMBER_SQL} order by m.id limit ?`, [organizationId, page.size + 1]);
    const { items, next } = cut(rows, page, (r) => r.id);
    return { items: items.map(toView), next };
  }

  async updateRole(tenant: Tenant, callerUserId: string, userId: string, newRole: Role, actor: Actor): Promise<MemberView> {
    const view = await this.em.transactional(async (tx) => {
      const { target, callerRole } = await this.lockAndFind(tx, tenant.organizationId, callerUserId, userId);
      const from = target.role as Role;
      assertMayChange(callerRole, from, newRole);
      if (from === newRole) return this.view(tx, tenant.organizationId, userId);
      if (from === 'root_admin') await this.assertNotLastRootAdmin(tx, tenant.organizationId);
      target.role = newRole;
      this.audit.record(tx, {
        ...actor,
        organizationId: tenant.organizationId,
        type: 'member.role_changed',
        targetType: 'user',
        targetId: userId,
        metadata: { from, to: newRole },
      });
      await tx.flush();
      return this.view(tx, tenant.organizationId, userId);
    });
    this.roles.invalidate({ userId });
    return view;
  }

  /** Admins remove members not above them; anyone may remove themselves (leave). */
  async remove(tenant: Tenant, callerUserId: string, userId: string, actor: Actor): Promise<void> {
    const self = callerUserId === userId && !tenant.viaPartner;
    await this.em.transactional(async (tx) => {
      const { target, callerRole } = await this.lockAndFind(tx, tenant.organizationId, callerUserId, userId);
      if (!self && !roleAtLeast(callerRole, 'admin')) throw forbidden('Only an admin can remove other members', 'ROLE_REQUIRED');
      if (!self) assertMayChange(callerRole, target.role as Role);
      if (target.role === 'root_admin') await this.assertNotLastRootAdmin(tx, tenant.organizationId);
      tx.remove(target);
      this.audit.record(tx, {
        ...actor,
        organizationId: tenant.organizationId,
        type: 'member.removed',
        targetType: 'user',
        targetId: userId,
        metadata: { role: target.role, left: self },
      });
    });
    this.roles.invalidate({ userId });
  }

  /** Lock the organization, then read the target and the caller's role as they are now (the tenant's role may be a cached answer). */
  private async lockAndFind(tx: EntityManager, organizationId: string, callerUserId: string, userId: string): Promise<{ target: Membership; callerRole: Role }> {
    const locked = await tx.execute('select id from organizations where id = ? for update', [organizationId]);
    if (!locked.length) throw notFound('Organization');
    const caller = await this.roles.load(callerUserId, organizationId, tx);
    if (!caller) throw notFound('Organization');
    const target = await tx.findOne(Membership, { organizationId, userId });
    if (!target) throw notFound('Member');
    return { target, callerRole: caller.role };
  }

  private async assertNotLastRootAdmin(tx: EntityManager, organizationId: string): Promise<void> {
    if ((await tx.count(Membership, { organizationId, role: 'root_admin' })) <= 1) throw lastRootAdmin();
  }

  private async view(tx: EntityManager, organizationId: string, userId: string): Promise<MemberView> {
    const [row] = await tx.execute<MemberRow[]>(`${MEMBER_SQL} and m.user_id = ?`, [organizationId, userId]);
    return toView(row);
  }
}
