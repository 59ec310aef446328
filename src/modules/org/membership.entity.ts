import { defineEntity, p } from '@mikro-orm/core';
import { UserSchema } from '../account/user.entity.js';
import { baseProperties } from '../common/base.entity.js';
import { OrganizationSchema } from './organization.entity.js';

export const MembershipSchema = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  indexes: [{ name: 'memberships_organization_id_id_index', properties: ['organizationId', 'id'] }],
  uniques: [{ properties: ['organizationId', 'userId'] }],
  properties: {
    ...baseProperties,
    organizationId: p.manyToOne(OrganizationSchema).mapToPk().fieldName('organization_id').deleteRule('cascade').deferMode('deferred'),
    userId: p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').deferMode('deferred').index(),
    /** root_admin | admin | member */
    role: p.string().length(16),
  },
});

export class Membership extends MembershipSchema.class {}
MembershipSchema.setClass(Membership);
