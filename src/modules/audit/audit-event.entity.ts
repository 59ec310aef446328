import { defineEntity, p } from '@mikro-orm/core';

/** Append-only: no updated_at, and no foreign key to organizations so the trail outlives a deleted organization. */
export const AuditEventSchema = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  // As the migrations create them: the audit list pages by (organization, id), filters by type and time.
  indexes: [
    { name: 'audit_events_organization_id_id_index', properties: ['organizationId', 'id'] },
    { name: 'audit_events_organization_id_type_id_index', properties: ['organizationId', 'type', 'id'] },
    { name: 'audit_events_organization_id_created_at_index', properties: ['organizationId', 'createdAt'] },
  ],
  properties: {
    /** Time-ordered and monotonic per process: paging newest first is ordering by id. */
    id: p.string().primary().length(26),
    createdAt: p.datetime(),
    organizationId: p.string().length(26),
    /** Dotted lower-case type, e.g. "member.role_changed". */
    type: p.string().length(64),
    /** user | api_key | system */
    actorType: p.string().length(16),
    actorId: p.string().length(64).default(''),
    targetType: p.string().length(32).default(''),
    targetId: p.string().length(64).default(''),
    ip: p.string().length(64).default(''),
    userAgent: p.string().length(512).default(''),
    metadata: p.json<Record<string, unknown>>(),
  },
});

export class AuditEvent extends AuditEventSchema.class {}
AuditEventSchema.setClass(AuditEvent);
