// Roles inside an organization and Latchkey's own scopes.
export const ROLES = ['member', 'admin', 'root_admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (s: string): s is Role => (ROLES as readonly string[]).includes(s);
export const roleRank = (r: Role): number => ROLES.indexOf(r);
export const roleAtLeast = (r: Role, min: Role): boolean => roleRank(r) >= roleRank(min);

const READ_SCOPES = ['user:read', 'orgs:read', 'members:read', 'api-keys:read', 'audit:read'] as const;
const WRITE_SCOPES = ['user:write', 'orgs:write', 'members:write', 'api-keys:write'] as const;
const SPECIAL_SCOPES = ['impersonate', 'introspect'] as const;

/** `read` / `write` are shorthands; other strings (projects:write) pass through for downstream services. */
export function expandScopes(scopes: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of scopes) {
    if (s === 'read') READ_SCOPES.forEach((x) => out.add(x));
    else if (s === 'write') WRITE_SCOPES.forEach((x) => out.add(x));
    else out.add(s);
  }
  return [...out];
}

const LATCHKEY_SCOPES: ReadonlySet<string> = new Set([...READ_SCOPES, ...WRITE_SCOPES, ...SPECIAL_SCOPES]);

/** Latchkey's own scopes, which roles cap; any other string is a downstream service's business. */
export const isLatchkeyScope = (s: string): boolean => LATCHKEY_SCOPES.has(s);

const MEMBER_SCOPES = ['user:read', 'user:write', 'orgs:read', 'members:read', 'api-keys:read', 'api-keys:write'];
const ADMIN_SCOPES = [...MEMBER_SCOPES, 'orgs:write', 'members:write', 'audit:read', 'impersonate', 'introspect'];
const ROLE_SCOPES: Record<Role, ReadonlySet<string>> = {
  member: new Set(MEMBER_SCOPES),
  admin: new Set(ADMIN_SCOPES),
  root_admin: new Set(ADMIN_SCOPES),
};

/** The Latchkey scopes a role may hold (and so grant to its keys). */
export const scopesOfRole = (role: Role): ReadonlySet<string> => ROLE_SCOPES[role];

/**
 * The one rule for scoped credentials: Latchkey's own scopes survive only where every given role
 * allows them; downstream scopes (projects:write) pass through. `scopes` must be expanded.
 */
export function capScopes(scopes: readonly string[], ...roles: Role[]): string[] {
  return scopes.filter((s) => !isLatchkeyScope(s) || roles.every((r) => ROLE_SCOPES[r].has(s)));
}

/** True when `a` ranks strictly above `b`. */
export const rankAbove = (a: Role, b: Role): boolean => roleRank(a) > roleRank(b);

/**
 * The most a partner's admin (or root_admin) holds in a client organization of its portfolio without a
 * membership there: admin. Root_admin-only actions (type, deletion, granting root_admin) stay with the
 * client's own root_admins; the partner's consent-free reach never exceeds what the client granted.
 */
export const PARTNER_ROLE_IN_CLIENT: Role = 'admin';
