// Step-up: the operations that change who holds power — member roles, deleting an organization,
// minting a key that can write — need a second factor used in the last 10 minutes when the user has
// one (403 SECOND_FACTOR_REQUIRED otherwise). One table here, so every protocol and binding gets it.
import type { DescMethod } from '@bufbuild/protobuf';
import type { Interceptor } from '@connectrpc/connect';
import type { Principal } from '../../modules/common/principal.js';
import { principalKey } from '../context.js';

export interface StepUpCheck {
  requireRecent(p: Principal, what: string): Promise<void>;
}

const writes = (scopes: unknown): boolean => {
  const list = Array.isArray(scopes) ? (scopes as string[]) : [];
  return list.length === 0 || list.some((s) => s === 'write' || s.endsWith(':write'));
};

/** RPC (service/method) → what it is, when its request needs a step-up. */
const STEP_UP: Record<string, (message: Record<string, unknown>) => string | undefined> = {
  'latchkey.v1.OrgService/UpdateMemberRole': () => 'Changing a role',
  'latchkey.v1.OrgService/DeleteOrganization': () => 'Deleting an organization',
  'latchkey.v1.ApiKeyService/CreateApiKey': (m) => (writes(m.scopes) ? 'Creating a key with a write scope' : undefined),
};

const nameOf = (m: DescMethod) => `${m.parent.typeName}/${m.name}`;

export const stepUpInterceptor =
  (check: StepUpCheck): Interceptor =>
  (next) =>
  async (req) => {
    const rule = STEP_UP[nameOf(req.method)];
    const principal = req.contextValues.get(principalKey);
    if (rule && principal && !req.stream) {
      const what = rule(req.message as unknown as Record<string, unknown>);
      if (what) await check.requireRecent(principal, what);
    }
    return next(req);
  };
