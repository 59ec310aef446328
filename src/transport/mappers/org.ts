import { create } from '@bufbuild/protobuf';
import {
  type AuditEvent as AuditEventMsg,
  AuditEventSchema,
  type Invitation as InvitationMsg,
  InvitationSchema,
  type Member as MemberMsg,
  MemberSchema,
  type Organization as OrganizationMsg,
  OrganizationSchema,
} from '../../../gen/latchkey/v1/common_pb.js';
import type { AuditEventView } from '../../modules/audit/audit.service.js';
import type { Invitation } from '../../modules/org/invitation.entity.js';
import type { MemberView } from '../../modules/org/member.service.js';
import type { Organization } from '../../modules/org/organization.entity.js';
import { ts } from './time.js';

export function toOrganization(o: Organization, role = ''): OrganizationMsg {
  return create(OrganizationSchema, {
    id: o.id,
    name: o.name,
    slug: o.slug,
    type: o.type,
    partnerOrganizationId: o.partnerId ?? '',
    role,
    createdAt: ts(o.createdAt),
    updatedAt: ts(o.updatedAt),
  });
}

export const toMember = (m: MemberView): MemberMsg => create(MemberSchema, { userId: m.userId, email: m.email, fullName: m.fullName, role: m.role, joinedAt: ts(m.joinedAt) });

export const toInvitation = (i: Invitation): InvitationMsg =>
  create(InvitationSchema, {
    id: i.id,
    organizationId: i.organizationId,
    email: i.email,
    role: i.role,
    expiresAt: ts(i.expiresAt),
    createdAt: ts(i.createdAt),
    acceptedAt: ts(i.acceptedAt),
  });

export const toAuditEvent = (e: AuditEventView): AuditEventMsg =>
  create(AuditEventSchema, {
    id: e.id,
    organizationId: e.organizationId,
    type: e.type,
    actorType: e.actorType,
    actorId: e.actorId,
    targetType: e.targetType,
    targetId: e.targetId,
    ip: e.ip,
    userAgent: e.userAgent,
    metadata: e.metadata as never,
    createdAt: ts(e.createdAt),
  });
