// Validation of organization fields and the rules of who may change whose role.
import { DomainError, forbidden, invalid } from '../common/errors.js';
import { isRole, roleRank, type Role } from './roles.js';

const SLUG_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const TYPE_RE = /^[a-z][a-z0-9_-]{0,31}$/;

export const PARTNER_TYPE = 'partner';
/** Type of a client organization created by a partner (AddClientOrganization with a name). */
export const CLIENT_ORG_TYPE = 'paid';

export function orgName(raw: string): string {
  const name = raw.trim();
  if (!name) throw invalid('name', 'is required');
  if (name.length > 200) throw invalid('name', 'must be at most 200 characters');
  return name;
}

export function orgSlug(raw: string): string {
  const slug = raw.trim();
  if (slug.length > 64 || !SLUG_RE.test(slug)) throw invalid('slug', 'must be lower-case letters, digits and dashes (at most 64)');
  return slug;
}

export function orgType(raw: string): string {
  const type = raw.trim().toLowerCase();
  if (!TYPE_RE.test(type)) throw invalid('type', 'must be a lower-case word such as "personal", "test", "paid" or "partner"');
  return type;
}

export function role(field: string, raw: string): Role {
  if (!isRole(raw)) throw invalid(field, 'must be "root_admin", "admin" or "member"');
  return raw;
}

/** Nobody grants a role above their own, or changes someone above them. */
export function assertMayChange(callerRole: Role, targetRole: Role, newRole?: Role): void {
  if (roleRank(targetRole) > roleRank(callerRole)) throw forbidden('You cannot change a member whose role is above yours');
  if (newRole && roleRank(newRole) > roleRank(callerRole)) throw forbidden('You cannot grant a role above your own');
}

export const lastRootAdmin = () =>
  new DomainError('FAILED_PRECONDITION', 'An organization must keep at least one root_admin', { reason: 'LAST_ROOT_ADMIN' });
