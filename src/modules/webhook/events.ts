// Which audit events are webhook events, under which name, and what a delivery's body says.
import type { AuditEvent } from '../audit/audit-event.entity.js';

/** Audit type → webhook type. Types absent here (sign-ins, token exchanges, …) are not sent. */
const FROM_AUDIT: Record<string, string> = {
  'user.created': 'user.created',
  'member.added': 'member.added',
  'member.removed': 'member.removed',
  'member.role_changed': 'member.role_changed',
  'invitation.created': 'invitation.created',
  'invitation.accepted': 'invitation.accepted',
  'invitation.revoked': 'invitation.revoked',
  'organization.created': 'organization.created',
  'organization.updated': 'organization.updated',
  'organization.deleted': 'organization.deleted',
  'organization.client_linked': 'client_organization.linked',
  'api_key.created': 'api_key.created',
  'api_key.updated': 'api_key.updated',
  'api_key.regenerated': 'api_key.regenerated',
  'api_key.revoked': 'api_key.revoked',
  'api_key.leak_reported': 'api_key.leaked',
  'api_key.expiring': 'api_key.expiring',
  'api_key.expired': 'api_key.expired',
  'api_key.new_source': 'api_key.new_source',
  'session.revoked': 'session.revoked',
};

/** The OAuth, SSO and MFA modules' events pass through under their own names. */
const PASS_THROUGH = /^(oauth_[a-z0-9_]*|oauth|sso|mfa)\.[a-z0-9_.]+$/;

/** Sent only by SendTestWebhookEvent, to one endpoint. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** Every webhook type Latchkey names today (for filters and the console). */
const WEBHOOK_EVENT_TYPES = [...new Set(Object.values(FROM_AUDIT)), TEST_EVENT_TYPE];

export function webhookTypeOf(auditType: string): string | undefined {
  return Object.hasOwn(FROM_AUDIT, auditType) ? FROM_AUDIT[auditType] : PASS_THROUGH.test(auditType) ? auditType : undefined;
}

/**
 * A filter entry is an event type, `prefix.*` (every type under it) or `*`. Entries must name types
 * that exist or may exist (the pass-through families), so a typo is refused instead of never matching.
 */
export function isValidFilter(entry: string): boolean {
  if (entry === '*') return true;
  if (entry.endsWith('.*')) {
    const prefix = entry.slice(0, -1);
    return WEBHOOK_EVENT_TYPES.some((t) => t.startsWith(prefix)) || PASS_THROUGH.test(`${prefix}x`);
  }
  return WEBHOOK_EVENT_TYPES.includes(entry) || PASS_THROUGH.test(entry);
}

export function matchesFilter(filter: string[], type: string): boolean {
  if (filter.length === 0) return true;
  return filter.some((f) => f === '*' || f === type || (f.endsWith('.*') && type.startsWith(f.slice(0, -1))));
}

/** The Standard Webhooks body: {type, timestamp, data}. Metadata of audit events never holds secrets. */
export function payloadOf(type: string, e: AuditEvent): Record<string, unknown> {
  return {
    type,
    timestamp: e.createdAt.toISOString(),
    data: {
      organizationId: e.organizationId,
      actor: { type: e.actorType, id: e.actorId },
      target: { type: e.targetType, id: e.targetId },
      details: e.metadata,
      auditEventId: e.id,
    },
  };
}
