// The security events Latchkey records. Other modules use these names, so a filter by type finds them all.
const AUDIT_EVENT_TYPES = [
  'user.created',
  'user.signed_in',
  'user.sign_in_failed',
  'session.revoked',
  'organization.created',
  'organization.updated',
  'organization.deleted',
  'organization.client_linked',
  'organization.partner_linked',
  'organization.client_unlinked',
  'organization.partner_unlinked',
  'invitation.created',
  'invitation.revoked',
  'invitation.accepted',
  'member.added',
  'member.role_changed',
  'member.removed',
  'api_key.created',
  'api_key.updated',
  'api_key.regenerated',
  'api_key.revoked',
  'api_key.leak_reported',
  'api_key.used_after_idle',
  'api_key.expiring',
  'api_key.expired',
  'token.exchanged',
  'token.impersonated',
] as const;

/** The known types autocomplete; other modules may record their own dotted types without editing this list. */
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number] | (string & {});

type ActorType = 'user' | 'api_key' | 'system';

/** Who caused an event and from where; handlers build it from the request. */
export interface Actor {
  actorType: ActorType;
  /** User or API key id; empty for "system". */
  actorId: string;
  ip: string;
  userAgent: string;
}

export const SYSTEM: Actor = { actorType: 'system', actorId: '', ip: '', userAgent: '' };
