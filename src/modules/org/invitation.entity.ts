import { defineEntity, p } from '@mikro-orm/core';
import { baseProperties } from '../common/base.entity.js';
import { OrganizationSchema } from './organization.entity.js';

export const InvitationSchema = defineEntity({
  name: 'Invitation',
  tableName: 'invitations',
  indexes: [{ name: 'invitations_organization_id_id_index', properties: ['organizationId', 'id'] }],
  // One pending invitation per address and organization (a partial unique index, written as in the migration).
  uniques: [
    { name: 'invitations_pending_unique', expression: 'create unique index invitations_pending_unique on invitations (organization_id, email) where accepted_at is null and revoked_at is null' },
  ],
  properties: {
    ...baseProperties,
    organizationId: p.manyToOne(OrganizationSchema).mapToPk().fieldName('organization_id').deleteRule('cascade').deferMode('deferred'),
    /** Lower-cased. */
    email: p.string().length(320),
    /** admin | member */
    role: p.string().length(16),
    /** SHA-256 of the emailed one-time token; the token itself is never stored. */
    tokenHash: p.string().length(64).unique().hidden(),
    invitedByUserId: p.string().length(26),
    expiresAt: p.datetime(),
    acceptedAt: p.datetime().nullable(),
    acceptedByUserId: p.string().length(26).nullable(),
    revokedAt: p.datetime().nullable(),
  },
});

export class Invitation extends InvitationSchema.class {}
InvitationSchema.setClass(Invitation);
