// The gateway's route policy (GATEWAY_POLICY): which product routes exist, the scopes each needs,
// where its tenant comes from, and the downstream scopes each role grants. Parsed with `yaml` (JSON
// is YAML too), validated once at start; every error names the file and line.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { isLatchkeyScope, isRole, ROLES, type Role } from '../modules/org/roles.js';
import { compareSpecificity, matchTemplate, parseTemplate, shapeOf, splitPath, type Template } from './template.js';

export class PolicyError extends Error {}

/** Where a route's organization comes from: {organization_id} in its path, the orgid header, or the credential. */
type TenantSource = 'path' | 'header' | 'credential';

export interface PolicyRoute {
  template: Template;
  /** Scopes the caller must hold, all of them. */
  scopes: string[];
  tenant: TenantSource;
  line: number;
}

export interface RouteMatch {
  route: PolicyRoute;
  vars: Record<string, string>;
}

const TOP_KEYS = ['roles', 'routes'];
const ROUTE_KEYS = ['match', 'scopes', 'tenant'];
const SCOPE_RE = /^[A-Za-z0-9_.:*/-]{1,128}$/;

export class GatewayPolicy {
  constructor(
    readonly source: string,
    /** Most specific first. */
    readonly routes: PolicyRoute[],
    /** Downstream scopes per role (each role also has those of the roles below it); undefined = not capped. */
    private readonly roleScopes?: Record<Role, ReadonlySet<string>>,
  ) {}

  /** The route a request takes; undefined when none matches. Throws 400 for ambiguous paths. */
  match(method: string, path: string): RouteMatch | undefined {
    const segs = splitPath(path);
    for (const route of this.routes) {
      const vars = matchTemplate(route.template, method, segs);
      if (vars) return { route, vars };
    }
    return undefined;
  }

  /** Pre-check for the built-in gateway, without throwing: 'bad' for a path the gateway refuses (400). */
  matches(method: string, path: string): 'yes' | 'no' | 'bad' {
    try {
      return this.match(method, path) ? 'yes' : 'no';
    } catch {
      return 'bad';
    }
  }

  /** The downstream scopes the policy's roles grant (`role`'s, or any role's); none without `roles`. */
  downstreamScopes(role: Role = 'root_admin'): string[] {
    return [...(this.roleScopes?.[role] ?? [])].filter((s) => !isLatchkeyScope(s));
  }

  /**
   * Downstream scopes after the role cap: a scoped credential keeps those of its scopes the role grants,
   * an unscoped one (a session) gets all the role grants. Latchkey's own scopes are left as they are.
   */
  capDownstream(scopes: readonly string[] | undefined, role: Role): string[] {
    const granted = this.roleScopes?.[role];
    if (!scopes) return granted ? [...granted] : [];
    if (!granted) return [...scopes];
    return scopes.filter((s) => isLatchkeyScope(s) || granted.has(s));
  }
}

/** Reads and validates GATEWAY_POLICY; throws PolicyError naming the line. */
export function loadPolicy(file: string): GatewayPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PolicyError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parsePolicy(text, file);
}

export function parsePolicy(text: string, source = 'policy'): GatewayPolicy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const lineOf = (n: Node | null | undefined) => (n?.range ? lines.linePos(n.range[0]).line : 1);
  const fail = (n: Node | null | undefined, message: string): never => {
    throw new PolicyError(`${source}:${lineOf(n)}: ${message}`);
  };
  if (doc.errors.length) {
    const e = doc.errors[0];
    const first = e.message.split('\n')[0];
    const line = lines.linePos(e.pos[0]).line;
    throw new PolicyError(`${source}:${line}: ${first.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const top = doc.contents;
  if (!isMap(top)) return fail(top, 'the policy must be a mapping with "routes" (and optionally "roles")');
  checkKeys(top, TOP_KEYS, 'the policy', fail);

  const rolesNode = top.get('roles', true) as Node | undefined;
  let roleScopes: Record<Role, ReadonlySet<string>> | undefined;
  if (rolesNode !== undefined) {
    if (!isMap(rolesNode)) return fail(rolesNode, 'roles must map a role (member, admin, root_admin) to a list of scopes');
    const own = new Map<Role, string[]>();
    for (const pair of rolesNode.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!isRole(name)) fail(pair.key as Node, `unknown role "${name}" (expected ${ROLES.join(', ')})`);
      own.set(name as Role, scopeList(pair.value as Node, `roles.${name}`, fail));
    }
    // Ranks are cumulative: admin has what member has, root_admin what admin has.
    const acc = new Set<string>();
    roleScopes = {} as Record<Role, ReadonlySet<string>>;
    for (const r of ROLES) {
      for (const s of own.get(r) ?? []) acc.add(s);
      roleScopes[r] = new Set(acc);
    }
  }

  const routesNode = top.get('routes', true) as Node | undefined;
  if (!isSeq(routesNode)) return fail(routesNode ?? top, 'routes must be a list of {match, scopes, tenant}');
  const routes: PolicyRoute[] = [];
  const seen = new Map<string, PolicyRoute>();
  for (const item of routesNode.items as Node[]) {
    if (!isMap(item)) fail(item, 'each route must be a mapping with "match"');
    const map = item as YAMLMap;
    checkKeys(map, ROUTE_KEYS, 'a route', fail);
    const matchNode = map.get('match', true) as Node | undefined;
    if (!isScalar(matchNode) || typeof matchNode.value !== 'string') return fail(item, 'route needs match: "METHOD /path"');
    let template: Template;
    try {
      template = parseTemplate(matchNode.value);
    } catch (e) {
      return fail(matchNode, `bad template: ${(e as Error).message}`);
    }
    const scopesNode = map.get('scopes', true) as Node | undefined;
    const scopes = scopesNode === undefined ? [] : scopeList(scopesNode, 'scopes', fail);
    if (roleScopes) {
      for (const s of scopes) if (!isLatchkeyScope(s) && !roleScopes.root_admin.has(s)) fail(scopesNode, `scope "${s}" is granted by no role in roles`);
    }
    const hasOrgVar = template.segments.some((s) => s.kind === 'var' && s.name === 'organization_id');
    const tenantNode = map.get('tenant', true) as Node | undefined;
    let tenant: TenantSource = hasOrgVar ? 'path' : 'credential';
    if (tenantNode !== undefined) {
      if (!isScalar(tenantNode) || tenantNode.value !== 'header') fail(tenantNode, 'tenant must be "header" (or left out: {organization_id} in the path, else the credential\'s organization)');
      if (hasOrgVar) fail(tenantNode, 'tenant: header conflicts with {organization_id} in the path');
      tenant = 'header';
    }
    const route: PolicyRoute = { template, scopes, tenant, line: lineOf(item) };
    const shape = shapeOf(template);
    const dup = seen.get(shape);
    if (dup) fail(item, `duplicate route "${template.source}": matches the same requests as "${dup.template.source}" on line ${dup.line}`);
    seen.set(shape, route);
    routes.push(route);
  }
  routes.sort((a, b) => compareSpecificity(a.template, b.template));
  return new GatewayPolicy(source, routes, roleScopes);
}

function checkKeys(map: YAMLMap, allowed: string[], what: string, fail: (n: Node | null | undefined, m: string) => never): void {
  for (const pair of map.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!allowed.includes(k)) fail(pair.key as Node, `unknown key "${k}" in ${what} (expected ${allowed.join(', ')})`);
  }
}

function scopeList(n: Node | null | undefined, what: string, fail: (n: Node | null | undefined, m: string) => never): string[] {
  if (!isSeq(n)) return fail(n, `${what} must be a list of scopes, e.g. [projects:read]`);
  return (n.items as Node[]).map((s) => {
    if (!isScalar(s) || typeof s.value !== 'string' || !SCOPE_RE.test(s.value)) fail(s, `bad scope in ${what}: a scope is letters, digits and _ . : * / - (e.g. projects:read)`);
    return (s as { value: string }).value;
  });
}
