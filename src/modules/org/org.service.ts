// Organizations: create, read, update, delete, and the caller's organizations. Members, invitations
// and partner portfolios are sub-services; `roleOf` answers "may this user act here" for the hot path.

import { randomBytes } from 'node:crypto';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditLog } from '../audit/audit.service.js';
import type { Actor } from '../audit/events.js';
import type { CacheContext } from '../common/cache.js';
import type { Clock } from '../common/clock.js';
import { conflict, DomainError, forbidden, notFound } from '../common/errors.js';
import { cut, type Page } from '../common/page-token.js';
import { InvitationService } from './invitation.service.js';
import { MemberService } from './member.service.js';
import { Membership } from './membership.entity.js';
import { Organization } from './organization.entity.js';
import type { InvitationMailer } from './outbox.js';
import { PartnerService } from './partner.service.js';
import type { Role } from './roles.js';
import { orgName, orgSlug, orgType, PARTNER_TYPE } from './rules.js';
import { type RoleInvalidation, type TenantAccess, TenantRoles } from './tenant-roles.js';

export interface OrgWithRole {
  organization: Organization;
  role: Role;
}

/** The organization a call acts in and the caller's role there (set by the tenancy interceptor). */
export interface Tenant extends TenantAccess {
  organizationId: string;
}

export interface OrgInput {
  name?: string;
  slug?: string;
  type?: string;
}

/** Runs inside DeleteOrganization's transaction (e.g. the API-key module revoking the organization's keys). */
export type DeletionStep = (tx: EntityManager, organizationId: string) => Promise<void>;

export interface OrgServiceOptions {
  clock: Clock;
  audit: AuditLog;
  mailer: InvitationMailer;
  /** Base of the invitation links in emails. */
  publicUrl: () => string;
  /** The replica's cache clock and trust bound (the role cache). */
  caches: CacheContext;
  /** The organization's invitation rule (allowed email domains): a 400 naming the field. */
  checkInvitee?: (organizationId: string, email: string) => Promise<void>;
}

function slugify(name: string): string {
  const base = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  return `${base || 'org'}-${randomBytes(4).toString('hex')}`;
}

const slugConflict = (e: unknown) => e instanceof UniqueConstraintViolationException && /slug/.test(String(e.message));

export class OrgService {
  readonly roles: TenantRoles;
  readonly members: MemberService;
  readonly invitations: InvitationService;
  readonly partners: PartnerService;
  private readonly deletionSteps: DeletionStep[] = [];
  private readonly audit: AuditLog;

  constructor(
    private readonly em: EntityManager,
    opts: OrgServiceOptions,
  ) {
    this.audit = opts.audit;
    this.roles = new TenantRoles(em, opts.caches);
    this.members = new MemberService(em, opts.audit, this.roles);
    this.invitations = new InvitationService(em, opts, this.roles, this.members);
    this.partners = new PartnerService(em, opts.audit, this.roles, this);
  }

  /** The user's role in the organization (directly, or as an admin of its partner); cached. */
  async roleOf(userId: string, organizationId: string): Promise<Role | undefined> {
    return (await this.roles.accessOf(userId, organizationId))?.role;
  }

  accessOf(userId: string, organizationId: string): Promise<TenantAccess | undefined> {
    return this.roles.accessOf(userId, organizationId);
  }

  /** Called after every local invalidation of cached roles (publish it to other replicas). */
  onInvalidate(listener: (inv: RoleInvalidation) => void): void {
    this.roles.onInvalidate(listener);
  }

  /** Add a step to DeleteOrganization's transaction. */
  onDelete(step: DeletionStep): void {
    this.deletionSteps.push(step);
  }

  /** Create an organization with `userId` as its root_admin, inside the caller's transaction. */
  createWithOwner(tx: EntityManager, userId: string, name: string, type: string, slug?: string, actor?: Actor, partnerId: string | null = null): Organization {
    const organization = tx.create(Organization, { name, slug: slug ?? slugify(name), type, partnerId });
    tx.create(Membership, { organizationId: organization.id, userId, role: 'root_admin' });
    this.audit.record(tx, {
      ...(actor ?? { actorType: 'user', actorId: userId, ip: '', userAgent: '' }),
      organizationId: organization.id,
      type: 'organization.created',
      targetType: 'organization',
      targetId: organization.id,
      metadata: { name, type, ...(partnerId ? { partnerOrganizationId: partnerId } : {}) },
    });
    return organization;
  }

  async create(userId: string, input: OrgInput, actor: Actor): Promise<Organization> {
    const name = orgName(input.name ?? '');
    const slug = input.slug ? orgSlug(input.slug) : undefined;
    const type = input.type ? orgType(input.type) : 'personal';
    try {
      return await this.em.transactional(async (tx) => this.createWithOwner(tx, userId, name, type, slug, actor));
    } catch (e) {
      if (slugConflict(e)) throw conflict('An organization with this slug already exists');
      throw e;
    }
  }

  async get(organizationId: string): Promise<Organization> {
    const org = await this.em.findOne(Organization, { id: organizationId });
    if (!org) throw notFound('Organization');
    return org;
  }

  async update(tenant: Tenant, input: OrgInput, actor: Actor): Promise<Organization> {
    const name = input.name !== undefined ? orgName(input.name) : undefined;
    const slug = input.slug !== undefined ? orgSlug(input.slug) : undefined;
    const type = input.type !== undefined ? orgType(input.type) : undefined;
    try {
      return await this.em.transactional(async (tx) => {
        const org = await tx.findOne(Organization, { id: tenant.organizationId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!org) throw notFound('Organization');
        const changes: Record<string, { from: string; to: string }> = {};
        if (type !== undefined && type !== org.type) {
          if (tenant.role !== 'root_admin') throw forbidden('Only a root_admin can change the organization type', 'ROLE_REQUIRED');
          if (type === PARTNER_TYPE && org.partnerId) throw new DomainError('PARTNER_LINK_INVALID', 'A client organization cannot be a partner');
          if (org.type === PARTNER_TYPE && (await tx.count(Organization, { partnerId: org.id }))) {
            throw new DomainError('PARTNER_HAS_CLIENTS', 'A partner organization with client organizations must stay a partner');
          }
          changes.type = { from: org.type, to: type };
          org.type = type;
        }
        if (name !== undefined && name !== org.name) (changes.name = { from: org.name, to: name }), (org.name = name);
        if (slug !== undefined && slug !== org.slug) (changes.slug = { from: org.slug, to: slug }), (org.slug = slug);
        if (Object.keys(changes).length) {
          this.audit.record(tx, { ...actor, organizationId: org.id, type: 'organization.updated', targetType: 'organization', targetId: org.id, metadata: changes });
        }
        return org;
      });
    } catch (e) {
      if (slugConflict(e)) throw conflict('An organization with this slug already exists');
      throw e;
    }
  }

  /** Deletes the organization with its memberships and invitations (and, through deletion steps, its keys); users and the audit trail stay. */
  async delete(organizationId: string, actor: Actor): Promise<void> {
    await this.em.transactional(async (tx) => {
      const org = await tx.findOne(Organization, { id: organizationId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!org) throw notFound('Organization');
      if (await tx.count(Organization, { partnerId: org.id })) {
        throw new DomainError('PARTNER_HAS_CLIENTS', 'Remove the client organizations of this partner first');
      }
      for (const step of this.deletionSteps) await step(tx, org.id);
      const members = await tx.nativeDelete(Membership, { organizationId: org.id });
      await tx.execute('delete from invitations where organization_id = ?', [org.id]);
      await tx.nativeDelete(Organization, { id: org.id });
      this.audit.record(tx, {
        ...actor,
        organizationId: org.id,
        type: 'organization.deleted',
        targetType: 'organization',
        targetId: org.id,
        metadata: { name: org.name, slug: org.slug, type: org.type, members },
      });
    });
    this.roles.invalidate({ organizationId });
  }

  countForUser(userId: string): Promise<number> {
    return this.em.count(Membership, { userId });
  }

  /** The user's organizations with their role, oldest first; `only` narrows it to one (a key of one organization). */
  async listForUser(userId: string, page: Page, only?: string): Promise<{ items: OrgWithRole[]; next: string }> {
    const organizationId = { ...(only ? { $eq: only } : {}), ...(page.cursor ? { $gt: page.cursor.after } : {}) };
    const memberships = await this.em.find(Membership, { userId, ...(only || page.cursor ? { organizationId } : {}) }, { orderBy: { organizationId: 'asc' }, limit: page.size + 1 });
    const { items, next } = cut(memberships, page, (m) => m.organizationId);
    const orgs = await this.em.find(Organization, { id: { $in: items.map((m) => m.organizationId) } });
    const byId = new Map(orgs.map((o) => [o.id, o]));
    return { items: items.map((m) => ({ organization: byId.get(m.organizationId)!, role: m.role as Role })), next };
  }
}
