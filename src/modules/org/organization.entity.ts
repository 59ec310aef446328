import { DeferMode, defineEntity, p } from '@mikro-orm/core';
import { baseProperties } from '../common/base.entity.js';

export const OrganizationSchema = defineEntity({
  name: 'Organization',
  tableName: 'organizations',
  properties: {
    ...baseProperties,
    name: p.string().length(200),
    slug: p.string().length(64).unique(),
    /** personal | test | paid | partner | … */
    type: p.string().length(32),
    /** Set on a client organization: the partner whose portfolio holds it. */
    partnerId: p.string().length(26).nullable().index(),
  },
});

export class Organization extends OrganizationSchema.class {}
OrganizationSchema.setClass(Organization);
// A self-reference cannot name its own schema inside defineEntity: the foreign key (as in the
// migrations) is declared once the schema exists, the property staying a plain id.
OrganizationSchema.addManyToOne('partnerId', 'Organization', { mapToPk: true, fieldName: 'partner_id', deleteRule: 'set null', deferMode: DeferMode.INITIALLY_DEFERRED, nullable: true, index: true });
