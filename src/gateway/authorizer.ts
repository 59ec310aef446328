// One authorisation decision for a product request, shared by forward-auth, Envoy's Check and the
// built-in gateway. It uses Latchkey's own rules: the Authenticator (which also counts per-key rate
// limits, credits and last use), KeyReach for pins and portfolios, TenantRoles for the role in the
// tenant, the organization's policy gate (as the tenancy interceptor), and capScopes for Latchkey's
// scopes. Warm, it touches no database and writes nothing.
import type { Config } from '../config.js';
import { isWellFormedKey } from '../modules/apikey/index.js';
import { DomainError, forbidden, unauthorized } from '../modules/common/errors.js';
import type { Principal } from '../modules/common/principal.js';
import { homeOrganizationOf } from '../modules/common/principal.js';
import type { OrgService } from '../modules/org/org.service.js';
import { capScopes, type Role, scopesOfRole } from '../modules/org/roles.js';
import type { Authenticator } from '../modules/session/credentials.js';
import type { Assertions } from '../modules/token/index.js';
import { readCookie, SESSION_COOKIE } from '../transport/cookies.js';
import type { TenantPolicyCheck } from '../transport/interceptors/tenancy.js';
import { missingTenantHeader, tenantHeaderOf } from '../transport/tenant-header.js';
import type { GatewayPolicy, PolicyRoute } from './policy.js';

/** The request being authorised, as the proxy describes it. */
export interface CheckedRequest {
  method: string;
  /** Path and query as the client sent them. */
  uri: string;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  /** The origin the client talked to (scheme://host), for the session-cookie CSRF rule. */
  siteOrigin?: string;
  /** The client's address, for API keys with an IP allowlist. */
  ip?: string;
}

const IDENTITY_HEADERS = {
  userId: 'x-latchkey-user-id',
  organizationId: 'x-latchkey-organization-id',
  scopes: 'x-latchkey-scopes',
  keyId: 'x-latchkey-key-id',
  actor: 'x-latchkey-actor',
  assertion: 'x-latchkey-assertion',
} as const;
export const IDENTITY_HEADER_NAMES: readonly string[] = Object.values(IDENTITY_HEADERS);

export interface Decision {
  route: PolicyRoute;
  principal: Principal;
  organizationId?: string;
  role?: Role;
  scopes: string[];
  /** The identity headers for the upstream, assertion included (lower-case names). */
  headers: Record<string, string>;
  /** Request headers that carried the Latchkey credential: removed before forwarding. */
  credentialHeaders: ('x-api-key' | 'authorization' | 'cookie')[];
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthorizerDeps {
  policy: GatewayPolicy;
  authenticator: Authenticator;
  reach: { assertReach(p: Principal, organizationId: string): Promise<void> };
  orgs: Pick<OrgService, 'accessOf'>;
  assertions: Assertions;
  config: Pick<Config, 'publicUrl' | 'corsOrigins'>;
  /** The organization's security policy (second factor, session lifetime), as the tenancy interceptor applies it. */
  tenantPolicy?: TenantPolicyCheck;
}

export class Authorizer {
  constructor(private readonly d: AuthorizerDeps) {}

  get policy(): GatewayPolicy {
    return this.d.policy;
  }

  async authorize(req: CheckedRequest): Promise<Decision> {
    const method = req.method.toUpperCase();
    const path = req.uri.split(/[?#]/, 1)[0] || '/';
    const found = this.d.policy.match(method, path);
    if (!found) throw new DomainError('NOT_FOUND', `No route for ${method} ${path}`);
    const { route, vars } = found;

    const { credentials, used } = credentialsOf(req);
    const principal = await this.d.authenticator.authenticate({ ...credentials, ip: req.ip });
    if (!principal) throw unauthorized('Missing Authorization header', 'CREDENTIAL_MISSING');
    if (principal.kind === 'session' && !SAFE_METHODS.has(method)) this.assertSameSite(req);

    const organizationId = tenantOf(route, vars, req, principal);
    let role: Role | undefined;
    if (organizationId) {
      await this.d.reach.assertReach(principal, organizationId);
      const access = await this.d.orgs.accessOf(principal.userId, organizationId);
      if (!access) throw forbidden('Not a member of this organization', 'TENANT_FORBIDDEN');
      role = access.role;
      await this.d.tenantPolicy?.check(principal, organizationId, role);
    }
    const scopes = this.scopesOf(principal, role);
    for (const s of route.scopes) if (!scopes.includes(s)) throw forbidden(`Missing scope ${s}`, 'SCOPE_MISSING');

    const headers: Record<string, string> = { [IDENTITY_HEADERS.userId]: principal.userId, [IDENTITY_HEADERS.scopes]: scopes.join(' ') };
    if (organizationId) headers[IDENTITY_HEADERS.organizationId] = organizationId;
    const keyId = principal.kind === 'apiKey' ? principal.keyId : undefined;
    const actor = principal.kind === 'jwt' ? principal.actor : undefined;
    if (keyId) headers[IDENTITY_HEADERS.keyId] = keyId;
    if (actor) headers[IDENTITY_HEADERS.actor] = actor.userId;
    headers[IDENTITY_HEADERS.assertion] = await this.d.assertions.sign({ userId: principal.userId, organizationId, role, scopes, keyId, actor, route: route.template.source });
    return { route, principal, organizationId, role, scopes, headers, credentialHeaders: used };
  }

  /**
   * Effective scopes: a scoped credential's scopes, Latchkey's capped by the role (capScopes) and
   * downstream ones by the policy's roles; an unscoped one (session, sign-in JWT) gets what its role
   * grants. Without a tenant there is no role: a scoped credential keeps its scopes, a session has none.
   */
  private scopesOf(p: Principal, role: Role | undefined): string[] {
    const granted = p.kind === 'session' ? undefined : p.scopes;
    if (!role) return granted ? [...granted] : [];
    const latchkey = granted ? capScopes(granted, role) : [...scopesOfRole(role)];
    return granted ? this.d.policy.capDownstream(latchkey, role) : [...latchkey, ...this.d.policy.capDownstream(undefined, role)];
  }

  /** A session cookie on a state-changing request must come from the site itself (as Latchkey's own CSRF rule). */
  private assertSameSite(req: CheckedRequest): void {
    const origin = req.header('origin');
    const site = req.header('sec-fetch-site');
    const own = origin && origin !== 'null' && (origin === req.siteOrigin || origin === new URL(this.d.config.publicUrl).origin || this.d.config.corsOrigins.includes(origin));
    if (own || site === 'same-origin' || (!origin && (!site || site === 'none'))) return;
    throw forbidden("Cross-origin request refused: a session cookie is only accepted from this site's own pages", 'CSRF_REJECTED');
  }
}

function credentialsOf(req: CheckedRequest) {
  const apiKey = req.header('x-api-key') || undefined;
  let sessionToken: string | undefined;
  try {
    sessionToken = readCookie(req.header('cookie') ?? null, SESSION_COOKIE) || undefined;
  } catch {
    throw unauthorized('Malformed session cookie');
  }
  const authorization = req.header('authorization');
  let bearer: string | undefined;
  if (authorization) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    // Another scheme (Basic for the upstream) is not ours: refused only when nothing else authenticates.
    if (m) bearer = m[1];
    else if (!apiKey && !sessionToken) throw unauthorized('Authorization header must be "Bearer <token>"');
  }
  const used: Decision['credentialHeaders'] = [];
  if (apiKey) used.push('x-api-key');
  if (bearer && (!apiKey || isWellFormedKey(bearer))) used.push('authorization');
  if (sessionToken) used.push('cookie');
  return { credentials: { apiKey, bearer, sessionToken }, used };
}

function tenantOf(route: PolicyRoute, vars: Record<string, string>, req: CheckedRequest, p: Principal): string | undefined {
  const header = tenantHeaderOf((n) => req.header(n));
  if (route.tenant === 'path') {
    const id = vars.organization_id;
    if (header && header.id !== id) throw new DomainError('TENANT_MISMATCH', `The ${header.name} header does not match the organization id in the path`, { header: header.name });
    return id;
  }
  if (route.tenant === 'header') {
    if (!header) throw missingTenantHeader();
    return header.id;
  }
  return homeOrganizationOf(p);
}
