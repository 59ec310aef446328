// Who may call each RPC, read from its (latchkey.v1.access) method option: the proto is the one
// source of the rule. Each method's rule is compiled once and cached; the interceptors look it up
// by descriptor on every request. `assertAccessRules` runs when the router is built, so a served
// method without a rule stops the server at start-up instead of failing at run time.
import { type DescMethod, getOption, hasOption } from '@bufbuild/protobuf';
import { http } from '../../gen/google/api/annotations_pb.js';
import { type Access, Access_Credentials, Access_Role, Access_Tenant, access as accessOption } from '../../gen/latchkey/v1/access_pb.js';
import { isLatchkeyScope, type Role } from '../modules/org/roles.js';

type Credentials = 'public' | 'any' | 'signed_in';
type TenantSource = 'none' | 'path' | 'header' | 'header_required';

export interface BindingRule {
  tenantHeaderRequired: boolean;
  partnerApi: boolean;
}

export interface AccessRule {
  credentials: Credentials;
  /** Scope a scoped credential needs; '' on public RPCs. */
  scope: string;
  tenant: TenantSource;
  minRole?: Role;
  foreignEmpty: boolean;
  partnerApi: boolean;
  /** REST path template → the rules of that binding. */
  bindings: ReadonlyMap<string, BindingRule>;
}

/** The rule of an RPC that needs no credential (for EXTERNAL_ACCESS entries). */
const PUBLIC_ACCESS: AccessRule = { credentials: 'public', scope: '', tenant: 'none', foreignEmpty: false, partnerApi: false, bindings: new Map() };

/**
 * Served methods that are not ours (vendored protos we do not edit) and so carry no option:
 * their rules live here, keyed "package.Service/Method", and nowhere else.
 */
export const EXTERNAL_ACCESS: Readonly<Record<string, AccessRule>> = {
  'grpc.health.v1.Health/Check': PUBLIC_ACCESS,
  'grpc.health.v1.Health/Watch': PUBLIC_ACCESS,
  // The credential Envoy checks is inside CheckRequest.attributes, not on the call.
  'envoy.service.auth.v3.Authorization/Check': PUBLIC_ACCESS,
  // Reflection describes only the public API schema (the same descriptors as the proto files).
  'grpc.reflection.v1.ServerReflection/ServerReflectionInfo': PUBLIC_ACCESS,
  'grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo': PUBLIC_ACCESS,
};

const CREDENTIALS: Partial<Record<Access_Credentials, Credentials>> = {
  [Access_Credentials.PUBLIC]: 'public',
  [Access_Credentials.ANY]: 'any',
  [Access_Credentials.SIGNED_IN]: 'signed_in',
};
const TENANTS: Partial<Record<Access_Tenant, TenantSource>> = {
  [Access_Tenant.NONE]: 'none',
  [Access_Tenant.PATH]: 'path',
  [Access_Tenant.HEADER]: 'header',
  [Access_Tenant.HEADER_REQUIRED]: 'header_required',
};
const ROLES: Partial<Record<Access_Role, Role>> = {
  [Access_Role.MEMBER]: 'member',
  [Access_Role.ADMIN]: 'admin',
  [Access_Role.ROOT_ADMIN]: 'root_admin',
};

class AccessRuleError extends Error {
  constructor(method: DescMethod, problem: string) {
    super(`${method.parent.typeName}.${method.name}: ${problem} (see proto/latchkey/v1/access.proto)`);
    this.name = 'AccessRuleError';
  }
}

/** The path templates of a method's google.api.http rule and its additional bindings. */
function bindingPaths(method: DescMethod): string[] {
  if (!hasOption(method, http)) return [];
  const top = getOption(method, http);
  return [top, ...top.additionalBindings].flatMap((r) => (r.pattern.case === 'custom' ? [r.pattern.value.path] : typeof r.pattern.value === 'string' ? [r.pattern.value] : []));
}

function compile(method: DescMethod): AccessRule {
  const external = EXTERNAL_ACCESS[`${method.parent.typeName}/${method.name}`];
  const declared = hasOption(method, accessOption);
  if (external && declared) throw new AccessRuleError(method, 'has both an access option and an EXTERNAL_ACCESS entry');
  if (external) return external;
  if (!declared) throw new AccessRuleError(method, 'has no (latchkey.v1.access) option: every served RPC must declare who may call it');
  return fromOption(method, getOption(method, accessOption));
}

function fromOption(method: DescMethod, a: Access): AccessRule {
  const fail = (problem: string) => new AccessRuleError(method, problem);
  const credentials = CREDENTIALS[a.credentials];
  if (!credentials) throw fail('access.credentials is not set');
  const paths = new Set(bindingPaths(method));
  const bindings = new Map<string, BindingRule>();
  for (const b of a.bindings) {
    if (!paths.has(b.path)) throw fail(`access.bindings names "${b.path}", which is not one of its google.api.http paths`);
    if (bindings.has(b.path)) throw fail(`access.bindings names "${b.path}" twice`);
    bindings.set(b.path, { tenantHeaderRequired: b.tenantHeaderRequired, partnerApi: b.partnerApi });
  }
  if (credentials === 'public') {
    if (a.scope || a.tenant || a.minRole || a.foreignEmpty || a.partnerApi || bindings.size) throw fail('a public RPC takes no scope, tenant, role or binding rules');
    return PUBLIC_ACCESS;
  }
  if (!isLatchkeyScope(a.scope)) throw fail(`access.scope "${a.scope}" is not a Latchkey scope`);
  const tenant = TENANTS[a.tenant];
  if (!tenant) throw fail('access.tenant is not set (TENANT_NONE when the RPC has no tenant)');
  const minRole = ROLES[a.minRole];
  if (tenant === 'none' && minRole) throw fail('access.min_role needs a tenant to be checked in');
  if (tenant !== 'none' && !minRole) throw fail('access.min_role is not set for a tenant-scoped RPC');
  if (tenant === 'none' && a.foreignEmpty) throw fail('access.foreign_empty needs a tenant');
  return { credentials, scope: a.scope, tenant, minRole, foreignEmpty: a.foreignEmpty, partnerApi: a.partnerApi, bindings };
}

const rules = new Map<DescMethod, AccessRule>();

/** The method's access rule (compiled on first use, then from the cache). */
export function accessOf(method: DescMethod): AccessRule {
  let rule = rules.get(method);
  if (!rule) {
    rule = compile(method);
    rules.set(method, rule);
  }
  return rule;
}

/** Compiles every method's rule; throws one error naming every method that lacks a valid rule. */
export function assertAccessRules(methods: Iterable<DescMethod>): void {
  const problems: string[] = [];
  for (const m of methods) {
    try {
      accessOf(m);
    } catch (e) {
      if (!(e instanceof AccessRuleError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length) throw new Error(`Access rules are missing or invalid:\n  ${problems.join('\n  ')}`);
}

/** The rules of the REST binding a call came through (none on gRPC, gRPC-web and Connect). */
export function bindingOf(rule: AccessRule, restPath: string | undefined): BindingRule | undefined {
  return restPath === undefined ? undefined : rule.bindings.get(restPath);
}

/** A partner-API call: the whole RPC is one, or the REST binding it came through is. */
export function isPartnerCall(rule: AccessRule, restPath: string | undefined): boolean {
  return rule.partnerApi || (bindingOf(rule, restPath)?.partnerApi ?? false);
}
