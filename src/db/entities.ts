// Every entity, listed explicitly (no folder discovery).
import { OneTimeTokenSchema } from '../modules/account/one-time-token.entity.js';
import { UserSchema } from '../modules/account/user.entity.js';
import { ApiKeySchema } from '../modules/apikey/api-key.entity.js';
import { ExpiryNoticeSchema } from '../modules/apikey/expiry.js';
import { ApiKeySourceSchema, ApiKeyUsageSchema } from '../modules/apikey/usage.entity.js';
import { AuditEventSchema } from '../modules/audit/audit-event.entity.js';
import { MfaChallengeSchema, PasskeySchema, RecoveryCodeSchema, TotpFactorSchema } from '../modules/mfa/entities.js';
import { OAuthRecordSchema } from '../modules/oauth/oauth-record.entity.js';
import { InvitationSchema } from '../modules/org/invitation.entity.js';
import { MembershipSchema } from '../modules/org/membership.entity.js';
import { OrganizationSchema } from '../modules/org/organization.entity.js';
import { OrgPolicySchema } from '../modules/org/policy.js';
import { RefreshTokenSchema } from '../modules/session/refresh-token.entity.js';
import { SessionSchema } from '../modules/session/session.entity.js';
import { SsoConnectionSchema, SsoDomainSchema, SsoSeenIdSchema } from '../modules/sso/sso.entity.js';
import { SigningKeySchema } from '../modules/token/signing-key.entity.js';
import { WebhookDeliverySchema, WebhookEndpointSchema, WebhookEventSchema } from '../modules/webhook/webhook.entity.js';

export const entities = [
  UserSchema,
  OrganizationSchema,
  MembershipSchema,
  SessionSchema,
  InvitationSchema,
  AuditEventSchema,
  OneTimeTokenSchema,
  RefreshTokenSchema,
  SigningKeySchema,
  ApiKeySchema,
  ApiKeyUsageSchema,
  ApiKeySourceSchema,
  TotpFactorSchema,
  RecoveryCodeSchema,
  PasskeySchema,
  MfaChallengeSchema,
  OrgPolicySchema,
  OAuthRecordSchema,
  // Webhooks and API-key expiry notices (issue 17).
  WebhookEndpointSchema,
  WebhookEventSchema,
  WebhookDeliverySchema,
  ExpiryNoticeSchema,
  SsoConnectionSchema,
  SsoDomainSchema,
  SsoSeenIdSchema,
];
