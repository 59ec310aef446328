// Invitations: an admin invites an email with a role; a single-use token link is emailed (7 days);
// the account with that email, signed in, accepts and joins. Re-inviting replaces the pending one.

import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { normalizeEmail } from '../account/account.service.js';
import type { Actor } from '../audit/events.js';
import { conflict, forbidden, invalid, notFound } from '../common/errors.js';
import { cut, type Page } from '../common/page-token.js';
import { randomToken, safeEqual, sha256 } from '../common/secrets.js';
import { CONSOLE_PATHS, linkWithToken } from '../mail/index.js';
import { Invitation } from './invitation.entity.js';
import type { MemberService } from './member.service.js';
import type { OrgServiceOptions, Tenant } from './org.service.js';
import { Organization } from './organization.entity.js';
import { type Role, roleAtLeast } from './roles.js';
import { assertMayChange } from './rules.js';
import type { TenantRoles } from './tenant-roles.js';

const INVITATION_TTL_SECONDS = 7 * 24 * 3600;

// One message for every way a token can fail: no hint which part was wrong.
const invitationNotFound = () => notFound('Invitation');

export class InvitationService {
  constructor(
    private readonly em: EntityManager,
    private readonly opts: OrgServiceOptions,
    private readonly roles: TenantRoles,
    private readonly members: MemberService,
  ) {}

  async invite(tenant: Tenant, inviterUserId: string, input: { email: string; role: string }, actor: Actor): Promise<Invitation> {
    const email = normalizeEmail('email', input.email);
    const role = (input.role || 'member') as Role;
    if (role !== 'admin' && role !== 'member') throw invalid('role', 'must be "admin" or "member"');
    assertMayChange(tenant.role, role, role);
    await this.opts.checkInvitee?.(tenant.organizationId, email);
    const member = await this.em.execute('select 1 from memberships m join users u on u.id = m.user_id where m.organization_id = ? and u.email = ?', [tenant.organizationId, email]);
    if (member.length) throw conflict('This email is already a member of the organization', 'ALREADY_MEMBER');
    const token = randomToken(32);
    const now = this.opts.clock.now();
    const { invitation, organization } = await this.em.transactional(async (tx) => {
      const organization = await tx.findOne(Organization, { id: tenant.organizationId });
      if (!organization) throw notFound('Organization');
      // Replace a pending invitation of the same email (before the insert: one pending per email).
      const replaced = await tx.nativeUpdate(Invitation, { organizationId: organization.id, email, acceptedAt: null, revokedAt: null }, { revokedAt: now });
      const invitation = tx.create(Invitation, {
        organizationId: organization.id,
        email,
        role,
        tokenHash: sha256(token),
        invitedByUserId: inviterUserId,
        expiresAt: new Date(now.getTime() + INVITATION_TTL_SECONDS * 1000),
        acceptedAt: null,
        acceptedByUserId: null,
        revokedAt: null,
      });
      this.opts.audit.record(tx, {
        ...actor,
        organizationId: organization.id,
        type: 'invitation.created',
        targetType: 'invitation',
        targetId: invitation.id,
        metadata: { email, role, replaced: replaced > 0 },
      });
      return { invitation, organization };
    });
    const [inviter] = await this.em.execute<{ full_name: string; email: string }[]>('select full_name, email from users where id = ?', [inviterUserId]);
    await this.opts.mailer.sendInvitation({
      to: email,
      link: linkWithToken(this.opts.publicUrl(), CONSOLE_PATHS.invitation(invitation.id), token),
      organizationName: organization.name,
      inviterName: inviter?.full_name || inviter?.email || '',
    });
    return invitation;
  }

  /** Pending invitations, newest first. */
  async list(organizationId: string, page: Page): Promise<{ items: Invitation[]; next: string }> {
    const rows = await this.em.find(
      Invitation,
      {
        organizationId,
        acceptedAt: null,
        revokedAt: null,
        expiresAt: { $gt: this.opts.clock.now() },
        ...(page.cursor ? { id: { $lt: page.cursor.after } } : {}),
      },
      { orderBy: { id: 'desc' }, limit: page.size + 1 },
    );
    return cut(rows, page, (r) => r.id);
  }

  async revoke(tenant: Tenant, invitationId: string, actor: Actor): Promise<void> {
    await this.em.transactional(async (tx) => {
      const n = await tx.nativeUpdate(Invitation, { id: invitationId, organizationId: tenant.organizationId, acceptedAt: null, revokedAt: null }, { revokedAt: this.opts.clock.now() });
      if (!n) throw invitationNotFound();
      this.opts.audit.record(tx, { ...actor, organizationId: tenant.organizationId, type: 'invitation.revoked', targetType: 'invitation', targetId: invitationId });
    });
  }

  /** The signed-in user joins with the invited role; single use, checked atomically. */
  async accept(invitationId: string, token: string, userId: string, actor: Actor): Promise<{ organization: Organization; role: Role }> {
    const now = this.opts.clock.now();
    const inv = await this.em.findOne(Invitation, { id: invitationId });
    const [user] = await this.em.execute<{ email: string }[]>('select email from users where id = ?', [userId]);
    if (!inv || !user || !token || inv.acceptedAt || inv.revokedAt || inv.expiresAt <= now) throw invitationNotFound();
    if (!safeEqual(sha256(token), inv.tokenHash) || inv.email !== user.email.toLowerCase()) throw invitationNotFound();
    try {
      const result = await this.em.transactional(async (tx) => {
        const taken = await tx.nativeUpdate(Invitation, { id: inv.id, acceptedAt: null, revokedAt: null }, { acceptedAt: now, acceptedByUserId: userId });
        if (!taken) throw invitationNotFound();
        const organization = await tx.findOne(Organization, { id: inv.organizationId });
        if (!organization) throw invitationNotFound();
        // An invitation is worth what its sender may still grant: one sent by a partner admin
        // (or an admin since demoted or removed) no longer admits anyone.
        const inviter = await this.roles.load(inv.invitedByUserId, organization.id, tx);
        if (!inviter || !roleAtLeast(inviter.role, 'admin'))
          throw forbidden('The person who invited you can no longer invite to this organization; ask an admin for a new invitation', 'ROLE_REQUIRED');
        this.opts.audit.record(tx, {
          ...actor,
          organizationId: organization.id,
          type: 'invitation.accepted',
          targetType: 'user',
          targetId: userId,
          metadata: { invitationId: inv.id, role: inv.role },
        });
        const role = inv.role as Role;
        if (!(await this.members.admit(tx, { organizationId: organization.id, userId, role, actor, via: 'invitation', metadata: { invitationId: inv.id } })))
          throw conflict('You are already a member of this organization', 'ALREADY_MEMBER');
        return { organization, role: inv.role as Role };
      });
      this.roles.invalidate({ userId });
      return result;
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException) throw conflict('You are already a member of this organization', 'ALREADY_MEMBER');
      throw e;
    }
  }
}
