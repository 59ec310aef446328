// Every entity, listed explicitly (no folder discovery).
import { UserSchema } from '../modules/account/user.entity.js';
import { ApiKeySchema } from '../modules/apikey/api-key.entity.js';
import { AuditEventSchema } from '../modules/audit/audit-event.entity.js';
import { InvitationSchema } from '../modules/org/invitation.entity.js';
import { MembershipSchema } from '../modules/org/membership.entity.js';
import { OrganizationSchema } from '../modules/org/organization.entity.js';
import { SessionSchema } from '../modules/session/session.entity.js';

export const entities = [UserSchema, OrganizationSchema, MembershipSchema, SessionSchema, InvitationSchema, AuditEventSchema, ApiKeySchema];
