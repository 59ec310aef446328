// The tenant headers (seeds 000, 003): one rule for Latchkey's own RPCs and for the gateway's routes.
import { DomainError } from '../modules/common/errors.js';

const HEADERS = ['orgid', 'x-organization-id'] as const;

/** The organization named by `orgid` / `x-organization-id`; both present and different is an error. */
export function tenantHeaderOf(get: (name: string) => string | null | undefined): { id: string; name: string } | undefined {
  const named = HEADERS.map((name) => ({ name, id: get(name)?.trim() ?? '' })).filter((h) => h.id);
  if (named.length === 2 && named[0].id !== named[1].id) {
    throw new DomainError('TENANT_MISMATCH', 'The orgid and x-organization-id headers name different organizations', { header: 'x-organization-id' });
  }
  return named[0];
}

export const missingTenantHeader = () => new DomainError('TENANT_REQUIRED', 'Missing orgid or x-organization-id header', { header: 'orgid' });
