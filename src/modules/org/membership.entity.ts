import { defineEntity, p } from '@mikro-orm/core';
import { baseProperties } from '../common/base.entity.js';

export const MembershipSchema = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  uniques: [{ properties: ['organizationId', 'userId'] }],
  properties: {
    ...baseProperties,
    organizationId: p.string().length(26),
    userId: p.string().length(26).index(),
    /** root_admin | admin | member */
    role: p.string().length(16),
  },
});

export class Membership extends MembershipSchema.class {}
MembershipSchema.setClass(Membership);
