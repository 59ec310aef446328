import { defineEntity, p } from '@mikro-orm/core';
import { baseProperties } from '../common/base.entity.js';

export const InvitationSchema = defineEntity({
  name: 'Invitation',
  tableName: 'invitations',
  properties: {
    ...baseProperties,
    organizationId: p.string().length(26),
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
