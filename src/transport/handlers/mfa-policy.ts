// OrgPolicyService: the organization's security policy (the tenancy interceptor resolved the
// organization and checked the role).
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import type { OrgPolicySchema, OrgPolicyService } from '../../../gen/latchkey/v1/policy_pb.js';
import type { OrgPolicies, PolicyView } from '../../modules/org/policy.js';
import { actorOf, tenantOf } from '../interceptors/tenancy.js';
import { ts } from '../mappers/time.js';
import { principalOf } from './caller.js';

const toPolicy = (p: PolicyView): MessageInitShape<typeof OrgPolicySchema> => ({
  requireSecondFactor: p.requireSecondFactor,
  allowedInvitationDomains: p.allowedInvitationDomains,
  maxSessionSeconds: BigInt(p.maxSessionSeconds),
  maxApiKeyLifetimeSeconds: BigInt(p.maxApiKeyLifetimeSeconds),
  apiKeysMustExpire: p.apiKeysMustExpire,
  updateTime: ts(p.updatedAt),
});

export function orgPolicyHandlers({ policies, hasSecondFactor }: { policies: OrgPolicies; hasSecondFactor: (userId: string) => Promise<boolean> }): ServiceImpl<typeof OrgPolicyService> {
  return {
    async getOrgPolicy(_req, ctx) {
      return { policy: toPolicy(await policies.get(tenantOf(ctx).organizationId)) };
    },

    async updateOrgPolicy(req, ctx) {
      const policy = await policies.update(
        tenantOf(ctx).organizationId,
        {
          requireSecondFactor: req.requireSecondFactor,
          allowedInvitationDomains: req.allowedInvitationDomains,
          maxSessionSeconds: Number(req.maxSessionSeconds),
          maxApiKeyLifetimeSeconds: Number(req.maxApiKeyLifetimeSeconds),
          apiKeysMustExpire: req.apiKeysMustExpire,
        },
        actorOf(ctx),
        await hasSecondFactor(principalOf(ctx).userId),
      );
      return { policy: toPolicy(policy) };
    },
  };
}
