// Runs after authn and enforces the organization half of the RPC's access rule: the binding rules
// (a REST path that requires the tenant header; partner APIs refuse client keys), then the tenant
// (the request's organization_id, the orgid / x-organization-id header, or the key's own
// organization, as the rule says), the caller's reach and role there. It puts
// {organizationId, role} in the context for handlers (tenantOf).
//
// Credentials that carry scopes (API keys, exchanged JWTs) act with their scopes ∩ the scopes of their
// user's CURRENT role in that organization, so a demoted creator's key loses rights at once.
import { create } from '@bufbuild/protobuf';
import { createContextKey, type HandlerContext, type Interceptor } from '@connectrpc/connect';
import type { Actor } from '../../modules/audit/events.js';
import { DomainError, forbidden, notFound } from '../../modules/common/errors.js';
import { homeOrganizationOf, type Principal } from '../../modules/common/principal.js';
import type { OrgService, Tenant } from '../../modules/org/org.service.js';
import { capScopes, type Role, roleAtLeast } from '../../modules/org/roles.js';
import { type AccessRule, accessOf, bindingOf } from '../access.js';
import { principalKey, requestInfoKey, restPathKey } from '../context.js';
import { missingTenantHeader, tenantHeaderOf } from '../tenant-header.js';

export interface TenantContext extends Tenant {
  /** Effective scopes for scoped credentials (key scopes ∩ role scopes); undefined = the role's full rights. */
  scopes?: string[];
}

const tenantKey = createContextKey<TenantContext | undefined>(undefined, { description: 'tenant' });

/** The organization the call acts in; only on RPCs whose access rule has a tenant. */
export function tenantOf(ctx: HandlerContext): TenantContext {
  const t = ctx.values.get(tenantKey);
  if (!t) throw new DomainError('INTERNAL', 'No tenant resolved for this call');
  return t;
}

/** Who acts, for audit events: the key for API-key calls, otherwise the user. */
export function actorOf(ctx: HandlerContext): Actor {
  const p = ctx.values.get(principalKey);
  const info = ctx.values.get(requestInfoKey);
  const client = { ip: info?.ip ?? '', userAgent: info?.userAgent ?? '' };
  if (!p) return { actorType: 'system', actorId: '', ...client };
  if (p.kind === 'apiKey') return { actorType: 'api_key', actorId: p.keyId, ...client };
  if (p.kind === 'jwt' && p.actor) return { actorType: 'api_key', actorId: p.actor.keyId, ...client };
  return { actorType: 'user', actorId: p.userId, ...client };
}

/** Tenant of a list call on an organization the caller is not in: an id no row has. */
const NO_TENANT: TenantContext = { organizationId: '-', role: 'member', viaPartner: false, scopes: [] };

function resolveOrganizationId(access: AccessRule, message: unknown, fromHeader: { id: string; name: string } | undefined, p: Principal): string {
  if (access.tenant === 'path') {
    const inPath = (message as { organizationId?: unknown }).organizationId;
    const id = typeof inPath === 'string' ? inPath.trim() : '';
    if (id && fromHeader && fromHeader.id !== id) {
      throw new DomainError('TENANT_MISMATCH', `The ${fromHeader.name} header does not match organization_id in the path`, { header: fromHeader.name });
    }
    if (id || fromHeader) return id || fromHeader!.id;
    throw new DomainError('TENANT_REQUIRED', 'Missing organization_id (or an orgid / x-organization-id header)', { field: 'organization_id' });
  }
  if (fromHeader) return fromHeader.id;
  const own = access.tenant === 'header' ? homeOrganizationOf(p) : undefined;
  if (own) return own;
  throw missingTenantHeader();
}

/** Where a credential may act (pins, a key's own organization, a partner key's portfolio): the api-key module. */
export interface KeyReachCheck {
  assertReach(p: Principal, organizationId: string): Promise<void>;
}

/** The organization's own rules at its door (security policy: second factor, session lifetime). */
export interface TenantPolicyCheck {
  check(p: Principal, organizationId: string, role: Role): Promise<void>;
}

export const tenancyInterceptor =
  (orgs: OrgService, reach: KeyReachCheck, policy?: TenantPolicyCheck): Interceptor =>
  (next) =>
  async (req) => {
    const access = accessOf(req.method);
    const principal = req.contextValues.get(principalKey);
    if (access.credentials === 'public' || !principal || req.stream) return next(req);

    const binding = bindingOf(access, req.contextValues.get(restPathKey));
    if (binding?.tenantHeaderRequired && !tenantHeaderOf((n) => req.header.get(n))) throw missingTenantHeader();
    if ((access.partnerApi || binding?.partnerApi) && principal.kind === 'apiKey' && principal.partner === 'client') {
      throw forbidden('Client keys cannot use the partner APIs', 'PARTNER_API_FORBIDDEN');
    }
    if (access.tenant === 'none') return next(req);

    const organizationId = resolveOrganizationId(
      access,
      req.message,
      tenantHeaderOf((n) => req.header.get(n)),
      principal,
    );
    await reach.assertReach(principal, organizationId);

    const found = await orgs.accessOf(principal.userId, organizationId);
    if (!found) {
      // Not a member, or no such organization: the same answer, with nothing of the organization in it.
      if (access.foreignEmpty) {
        // Run the handler against an organization id that matches nothing (so the protocol sets its own
        // headers and trailers), then drop whatever it returned: the answer is always the empty list.
        req.contextValues.set(tenantKey, NO_TENANT);
        const res = await next(req);
        return { ...res, message: create(req.method.output) } as typeof res;
      }
      throw notFound('Organization');
    }
    const granted = principal.kind === 'session' ? undefined : principal.scopes;
    const scopes = granted && capScopes(granted, found.role);
    if (scopes && !scopes.includes(access.scope)) throw forbidden(`Missing scope ${access.scope}`, 'SCOPE_MISSING');
    if (access.minRole && !roleAtLeast(found.role, access.minRole)) throw forbidden(`Requires the ${access.minRole} role`, 'ROLE_REQUIRED');
    await policy?.check(principal, organizationId, found.role);
    req.contextValues.set(tenantKey, { organizationId, ...found, scopes });
    return next(req);
  };
