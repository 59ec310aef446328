// OrgService handlers.
import type { ServiceImpl } from '@connectrpc/connect';
import type { OrgService } from '../../../gen/latchkey/v1/org_pb.js';
import { readPage } from '../../modules/common/page-token.js';
import type { Deps } from '../../deps.js';
import { toOrganization } from '../mappers/org.js';
import { principalOf } from './caller.js';

export function orgHandlers(deps: Deps): Partial<ServiceImpl<typeof OrgService>> {
  const { orgs } = deps;
  return {
    async listMyOrganizations(req, ctx) {
      const { userId } = principalOf(ctx);
      const { items, next } = await orgs.listForUser(userId, readPage(req.pageSize, req.pageToken));
      return { organizations: items.map((o) => toOrganization(o.organization, o.role)), nextPageToken: next };
    },
  };
}
