import { create } from '@bufbuild/protobuf';
import { OrganizationSchema, type Organization as OrganizationMsg } from '../../../gen/latchkey/v1/common_pb.js';
import type { Organization } from '../../modules/org/organization.entity.js';
import { ts } from './time.js';

export function toOrganization(o: Organization, role = ''): OrganizationMsg {
  return create(OrganizationSchema, {
    id: o.id,
    name: o.name,
    slug: o.slug,
    type: o.type,
    partnerOrganizationId: o.partnerId ?? '',
    role,
    createdAt: ts(o.createdAt),
    updatedAt: ts(o.updatedAt),
  });
}
