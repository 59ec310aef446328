// Normalising organization fields (their shape is checked by the `buf.validate` rules in
// proto/latchkey/v1/org.proto before any handler) and the rules of who may change whose role.
import { DomainError, forbidden, invalid } from '../common/errors.js';
import { isRole, type Role, roleRank } from './roles.js';

export const PARTNER_TYPE = 'partner';
/** Type of a client organization created by a partner (AddClientOrganization with a name). */
export const CLIENT_ORG_TYPE = 'paid';

export const orgName = (raw: string): string => raw.trim();
export const orgSlug = (raw: string): string => raw.trim();
export const orgType = (raw: string): string => raw.trim().toLowerCase();

/** Narrows a role string the proto has already restricted to the three roles. */
export function role(field: string, raw: string): Role {
  if (!isRole(raw)) throw invalid(field, 'must be "root_admin", "admin" or "member"');
  return raw;
}

/** Nobody grants a role above their own, or changes someone above them. */
export function assertMayChange(callerRole: Role, targetRole: Role, newRole?: Role): void {
  if (roleRank(targetRole) > roleRank(callerRole)) throw forbidden('You cannot change a member whose role is above yours', 'ROLE_ABOVE_CALLER');
  if (newRole && roleRank(newRole) > roleRank(callerRole)) throw forbidden('You cannot grant a role above your own', 'ROLE_ABOVE_CALLER');
}

export const lastRootAdmin = () => new DomainError('LAST_ROOT_ADMIN', 'An organization must keep at least one root_admin');
