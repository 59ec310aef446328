// OrgService handlers: parse, call the domain, map. The tenancy interceptor has already resolved the
// organization and checked the caller's role there (tenantOf).

import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { ServiceImpl } from '@connectrpc/connect';
import type { OrgService } from '../../../gen/latchkey/v1/org_pb.js';
import type { AuditLog } from '../../modules/audit/audit.service.js';
import { readPage } from '../../modules/common/page-token.js';
import type { Principal } from '../../modules/common/principal.js';
import type { OrgService as Orgs } from '../../modules/org/org.service.js';
import { role } from '../../modules/org/rules.js';
import { actorOf, tenantOf } from '../interceptors/tenancy.js';
import { toAuditEvent, toInvitation, toMember, toOrganization } from '../mappers/org.js';
import { principalOf } from './caller.js';

/** The one organization a key of an organization (or a token issued in one) may see. */
function onlyOrganizationOf(p: Principal): string | undefined {
  if (p.kind === 'apiKey') return p.pinnedOrganizationId ?? p.organizationId;
  if (p.kind === 'jwt') return p.organizationId;
  return undefined;
}

/** What the OrgService handlers call. */
export interface OrgHandlerDeps {
  orgs: Orgs;
  audit: AuditLog;
}

export function orgHandlers({ orgs, audit }: OrgHandlerDeps): ServiceImpl<typeof OrgService> {
  return {
    async listMyOrganizations(req, ctx) {
      const p = principalOf(ctx);
      const { items, next } = await orgs.listForUser(p.userId, readPage(req.pageSize, req.pageToken), onlyOrganizationOf(p));
      return { organizations: items.map((o) => toOrganization(o.organization, o.role)), nextPageToken: next };
    },

    async createOrganization(req, ctx) {
      const org = await orgs.create(principalOf(ctx).userId, { name: req.name, slug: req.slug, type: req.type }, actorOf(ctx));
      return { organization: toOrganization(org, 'root_admin') };
    },

    async getOrganization(_req, ctx) {
      const t = tenantOf(ctx);
      return { organization: toOrganization(await orgs.get(t.organizationId), t.viaPartner ? '' : t.role) };
    },

    async updateOrganization(req, ctx) {
      const t = tenantOf(ctx);
      const org = await orgs.update(t, { name: req.name, slug: req.slug, type: req.type }, actorOf(ctx));
      return { organization: toOrganization(org, t.viaPartner ? '' : t.role) };
    },

    async deleteOrganization(_req, ctx) {
      await orgs.delete(tenantOf(ctx).organizationId, actorOf(ctx));
      return {};
    },

    async listMembers(req, ctx) {
      const { items, next } = await orgs.members.list(tenantOf(ctx).organizationId, readPage(req.pageSize, req.pageToken));
      return { members: items.map(toMember), nextPageToken: next };
    },

    async updateMemberRole(req, ctx) {
      const member = await orgs.members.updateRole(tenantOf(ctx), principalOf(ctx).userId, req.userId, role('role', req.role), actorOf(ctx));
      return { member: toMember(member) };
    },

    async removeMember(req, ctx) {
      await orgs.members.remove(tenantOf(ctx), principalOf(ctx).userId, req.userId, actorOf(ctx));
      return {};
    },

    async inviteMember(req, ctx) {
      const inv = await orgs.invitations.invite(tenantOf(ctx), principalOf(ctx).userId, { email: req.email, role: req.role }, actorOf(ctx));
      return { invitation: toInvitation(inv) };
    },

    async listInvitations(req, ctx) {
      const { items, next } = await orgs.invitations.list(tenantOf(ctx).organizationId, readPage(req.pageSize, req.pageToken));
      return { invitations: items.map(toInvitation), nextPageToken: next };
    },

    async revokeInvitation(req, ctx) {
      await orgs.invitations.revoke(tenantOf(ctx), req.invitationId, actorOf(ctx));
      return {};
    },

    async acceptInvitation(req, ctx) {
      // Joining is the user's own act: the access rule (CREDENTIALS_SIGNED_IN) refuses keys and exchanged tokens.
      const { organization, role: joined } = await orgs.invitations.accept(req.invitationId, req.token, principalOf(ctx).userId, actorOf(ctx));
      return { organization: toOrganization(organization, joined) };
    },

    async addClientOrganization(req, ctx) {
      const input = { name: req.name, clientOrganizationId: req.clientOrganizationId };
      const { organization, role: callerRole } = await orgs.partners.addClient(tenantOf(ctx), principalOf(ctx).userId, input, actorOf(ctx));
      return { organization: toOrganization(organization, callerRole) };
    },

    async listClientOrganizations(req, ctx) {
      const { items, next } = await orgs.partners.listClients(tenantOf(ctx).organizationId, readPage(req.pageSize, req.pageToken));
      return { organizations: items.map((o) => toOrganization(o)), nextPageToken: next };
    },

    async removeClientOrganization(req, ctx) {
      await orgs.partners.removeClient(tenantOf(ctx), req.clientOrganizationId, actorOf(ctx));
      return {};
    },

    async leavePartner(_req, ctx) {
      await orgs.partners.leavePartner(tenantOf(ctx), actorOf(ctx));
      return {};
    },

    async listAuditEvents(req, ctx) {
      const filter = { type: req.type, start: req.startTime && timestampDate(req.startTime), end: req.endTime && timestampDate(req.endTime) };
      const { items, next } = await audit.list(tenantOf(ctx).organizationId, readPage(req.pageSize, req.pageToken), filter);
      return { auditEvents: items.map(toAuditEvent), nextPageToken: next };
    },
  };
}
