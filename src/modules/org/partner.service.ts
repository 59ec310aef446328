// Partner portfolios (seed 003): a partner organization holds client organizations, at most one
// partner per client. The partner's admins act in its clients as admin (never root_admin), for as long
// as the link and their partner membership last (tenant-roles reads both live).
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditLog } from '../audit/audit.service.js';
import type { Actor } from '../audit/events.js';
import { conflict, DomainError, forbidden, notFound } from '../common/errors.js';
import { isUlid } from '../common/ids.js';
import { cut, type Page } from '../common/page-token.js';
import type { OrgService, Tenant } from './org.service.js';
import { Organization } from './organization.entity.js';
import type { Role } from './roles.js';
import { CLIENT_ORG_TYPE, orgName, PARTNER_TYPE } from './rules.js';
import type { TenantRoles } from './tenant-roles.js';

export class PartnerService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditLog,
    private readonly roles: TenantRoles,
    private readonly orgs: OrgService,
  ) {}

  /** `name` creates a client organization (the caller its root_admin); `clientOrganizationId` links one whose root_admin the caller is. */
  async addClient(partner: Tenant, callerUserId: string, input: { name: string; clientOrganizationId: string }, actor: Actor): Promise<{ organization: Organization; role: Role }> {
    const byName = !!input.name.trim();
    if (byName === !!input.clientOrganizationId) throw new DomainError('PARTNER_LINK_INVALID', 'Give exactly one of name and clientOrganizationId');
    await this.assertPartner(partner.organizationId);
    const added = byName
      ? await this.em.transactional(async (tx) => {
          const organization = this.orgs.createWithOwner(tx, callerUserId, orgName(input.name), CLIENT_ORG_TYPE, undefined, actor, partner.organizationId);
          this.recordLink(tx, partner.organizationId, organization.id, actor);
          return { organization, role: 'root_admin' as Role };
        })
      : await this.link(partner.organizationId, callerUserId, input.clientOrganizationId, actor);
    this.roles.invalidate({ organizationId: added.organization.id });
    return added;
  }

  /** The partner's client organizations, oldest first; empty for an organization that is not a partner. */
  async listClients(partnerId: string, page: Page): Promise<{ items: Organization[]; next: string }> {
    const rows = await this.em.find(Organization, { partnerId, ...(page.cursor ? { id: { $gt: page.cursor.after } } : {}) }, { orderBy: { id: 'asc' }, limit: page.size + 1 });
    return cut(rows, page, (o) => o.id);
  }

  /**
   * Linking hands the partner's admins admin rights in the client, so it takes the client's consent:
   * the caller must be a root_admin of the client by a direct membership, calling with their own
   * credential (a session or access token), not an API key, personal token or exchanged token
   * (those act for the user only within their reach, and a partner key's reach is the partner).
   */
  private async link(partnerId: string, callerUserId: string, clientId: string, actor: Actor): Promise<{ organization: Organization; role: Role }> {
    if (clientId === partnerId) throw new DomainError('PARTNER_LINK_INVALID', 'A partner cannot be its own client');
    const direct = isUlid(clientId) ? await this.em.execute<{ role: Role }[]>(`select role from memberships where organization_id = ? and user_id = ?`, [clientId, callerUserId]) : [];
    if (!direct.length) throw notFound('Organization');
    if (direct[0].role !== 'root_admin') throw forbidden("Only a root_admin of the client organization can link it into a partner's portfolio", 'ROLE_REQUIRED');
    if (actor.actorType !== 'user') throw forbidden('Link an organization signed in as its root_admin, not with an API key or an exchanged token');
    return this.em.transactional(async (tx) => {
      const client = await tx.findOne(Organization, { id: clientId });
      if (!client) throw notFound('Organization');
      if (client.type === PARTNER_TYPE) throw new DomainError('PARTNER_LINK_INVALID', 'A partner organization cannot be a client');
      // Conditional update: of two partners linking at once, one wins.
      const n = await tx.nativeUpdate(Organization, { id: clientId, partnerId: null }, { partnerId, updatedAt: new Date() });
      if (!n) throw conflict('The organization already belongs to a partner');
      this.recordLink(tx, partnerId, clientId, actor);
      await tx.refresh(client);
      return { organization: client, role: direct[0].role };
    });
  }

  /** The partner ends a client's link (RemoveClientOrganization). */
  async removeClient(partner: Tenant, clientId: string, actor: Actor): Promise<void> {
    await this.assertPartner(partner.organizationId);
    if (!(await this.unlink(clientId, partner.organizationId, actor))) throw notFound('Organization');
  }

  /** The client's root_admin ends its link (LeavePartner). */
  async leavePartner(client: Tenant, actor: Actor): Promise<void> {
    const [row] = await this.em.execute<{ partner_id: string | null }[]>('select partner_id from organizations where id = ?', [client.organizationId]);
    if (!row?.partner_id || !(await this.unlink(client.organizationId, row.partner_id, actor))) throw new DomainError('PARTNER_LINK_INVALID', 'The organization is not in a partner portfolio');
  }

  /**
   * Ends the link of `clientId` to `partnerId`; false when there was none. The partner's rights in
   * the client are read live, so they end with the link; invitations to the client still pending
   * from someone who is not a direct member (a partner admin) are revoked with it.
   */
  private async unlink(clientId: string, partnerId: string, actor: Actor): Promise<boolean> {
    if (!isUlid(clientId)) return false;
    const done = await this.em.transactional(async (tx) => {
      const n = await tx.nativeUpdate(Organization, { id: clientId, partnerId }, { partnerId: null, updatedAt: new Date() });
      if (!n) return false;
      await tx.execute(
        `update invitations set revoked_at = ? where organization_id = ? and accepted_at is null and revoked_at is null
           and invited_by_user_id not in (select user_id from memberships where organization_id = ?)`,
        [new Date(), clientId, clientId],
      );
      this.audit.record(tx, { ...actor, organizationId: partnerId, type: 'organization.client_unlinked', targetType: 'organization', targetId: clientId });
      this.audit.record(tx, { ...actor, organizationId: clientId, type: 'organization.partner_unlinked', targetType: 'organization', targetId: partnerId });
      return true;
    });
    if (done) this.roles.invalidate({ organizationId: clientId });
    return done;
  }

  private recordLink(tx: EntityManager, partnerId: string, clientId: string, actor: Actor): void {
    this.audit.record(tx, { ...actor, organizationId: partnerId, type: 'organization.client_linked', targetType: 'organization', targetId: clientId });
    this.audit.record(tx, { ...actor, organizationId: clientId, type: 'organization.partner_linked', targetType: 'organization', targetId: partnerId });
  }

  private async assertPartner(organizationId: string): Promise<void> {
    const org = await this.em.findOne(Organization, { id: organizationId }, { fields: ['id', 'type'] });
    if (!org) throw notFound('Organization');
    if (org.type !== PARTNER_TYPE) throw forbidden('The organization is not a partner organization', 'PARTNER_REQUIRED');
  }
}
