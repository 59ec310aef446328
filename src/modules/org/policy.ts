// Organization security policies: who must have a second factor, where invitations may go, how long
// a session may act in the organization and how long its API keys may live. One row per organization
// (absent = the defaults, everything off); read through one cache that every replica's bus clears.
import { defineEntity, p } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditLog } from '../audit/audit.service.js';
import type { Actor } from '../audit/events.js';
import { baseProperties } from '../common/base.entity.js';
import type { Invalidation } from '../common/bus.js';
import { Cache, type CacheContext } from '../common/cache.js';
import type { Clock } from '../common/clock.js';
import { DomainError, invalid } from '../common/errors.js';
import { OrganizationSchema } from './organization.entity.js';
import { type Role, roleAtLeast } from './roles.js';

export type SecondFactorRequirement = 'none' | 'admins' | 'all';

export const OrgPolicySchema = defineEntity({
  name: 'OrgPolicy',
  tableName: 'org_policies',
  // One policy per organization; declared here rather than on the property so the unique is not deferred like the foreign key.
  uniques: [{ name: 'org_policies_organization_id_unique', properties: ['organizationId'] }],
  properties: {
    ...baseProperties,
    organizationId: p.manyToOne(OrganizationSchema).mapToPk().fieldName('organization_id').deleteRule('cascade').deferMode('deferred'),
    requireSecondFactor: p.string().length(16).default('none').$type<SecondFactorRequirement>(),
    allowedInvitationDomains: p.json<string[]>(),
    maxSessionSeconds: p.integer().default(0),
    maxApiKeyLifetimeSeconds: p.integer().default(0),
    apiKeysMustExpire: p.boolean().default(false),
  },
});
class OrgPolicy extends OrgPolicySchema.class {}
OrgPolicySchema.setClass(OrgPolicy);

/** A policy as the rest of the server reads it. */
export interface PolicyView {
  requireSecondFactor: SecondFactorRequirement;
  allowedInvitationDomains: string[];
  maxSessionSeconds: number;
  maxApiKeyLifetimeSeconds: number;
  apiKeysMustExpire: boolean;
  updatedAt?: Date;
}

export type PolicyInput = Omit<PolicyView, 'updatedAt' | 'requireSecondFactor'> & { requireSecondFactor: string };

const DEFAULT: PolicyView = { requireSecondFactor: 'none', allowedInvitationDomains: [], maxSessionSeconds: 0, maxApiKeyLifetimeSeconds: 0, apiKeysMustExpire: false };
const REQUIREMENTS: SecondFactorRequirement[] = ['none', 'admins', 'all'];

export interface OrgPoliciesDeps {
  clock: Clock;
  audit: AuditLog;
  caches: CacheContext;
  /** Announces a changed policy to every replica ({organizationId}). */
  invalidate: (inv: Invalidation) => void;
}

export class OrgPolicies {
  private readonly cache: Cache<PolicyView>;
  /** userId → whether an organization of theirs requires a second factor of them (asked at every sign-in). */
  private readonly requiredOf: Cache<boolean>;

  constructor(
    private readonly em: EntityManager,
    private readonly d: OrgPoliciesDeps,
  ) {
    this.cache = new Cache(d.caches, { max: 50_000, ttlMs: 60_000 });
    this.requiredOf = new Cache(d.caches, { max: 50_000, ttlMs: 60_000 });
  }

  /** Drop cached policies (from the bus). */
  apply(inv: Invalidation): void {
    if ('all' in inv) {
      this.cache.clear();
      this.requiredOf.clear();
    } else if ('organizationId' in inv) {
      this.cache.delete(inv.organizationId);
      this.requiredOf.clear(); // a policy (or an organization) changed: any of its members' answers may
    } else if ('userId' in inv) this.requiredOf.delete(inv.userId); // joined, left, or changed role
  }

  /** The policy in force; warm: no database round trip. */
  async get(organizationId: string): Promise<PolicyView> {
    return this.cache.get(organizationId, async (id) => {
      const row = await this.em.findOne(OrgPolicy, { organizationId: id });
      return row ? viewOf(row) : DEFAULT;
    });
  }

  /** `callerHasSecondFactor`: an admin cannot require a second factor they lack (they would lock themselves out). */
  async update(organizationId: string, input: PolicyInput, actor: Actor, callerHasSecondFactor: boolean): Promise<PolicyView> {
    const requireSecondFactor = (input.requireSecondFactor || 'none') as SecondFactorRequirement;
    if (!REQUIREMENTS.includes(requireSecondFactor)) throw invalid('requireSecondFactor', 'must be "none", "admins" or "all"');
    if (requireSecondFactor !== 'none' && !callerHasSecondFactor) {
      throw new DomainError('FAILED_PRECONDITION', 'Enrol a second factor yourself before requiring one: you would lose access to the organization');
    }
    const domains = [...new Set(input.allowedInvitationDomains.map((x) => x.trim().toLowerCase()).filter(Boolean))];
    const values = {
      requireSecondFactor,
      allowedInvitationDomains: domains,
      maxSessionSeconds: Number(input.maxSessionSeconds),
      maxApiKeyLifetimeSeconds: Number(input.maxApiKeyLifetimeSeconds),
      apiKeysMustExpire: input.apiKeysMustExpire,
    };
    let row = await this.em.findOne(OrgPolicy, { organizationId });
    if (row) Object.assign(row, values);
    else row = this.em.create(OrgPolicy, { organizationId, ...values });
    this.d.audit.record(this.em, { ...actor, organizationId, type: 'org.policy_updated', targetType: 'organization', targetId: organizationId, metadata: { ...values } });
    await this.em.flush();
    this.d.invalidate({ organizationId });
    return viewOf(row);
  }

  /** True when some organization of the user requires a second factor of them (sign-in sends them to enrol). */
  async anyRequiresSecondFactor(userId: string): Promise<boolean> {
    return this.requiredOf.get(userId, async () => {
      const rows = await this.em.execute<{ n: number }[]>(
        `select 1 as n from memberships m join org_policies p on p.organization_id = m.organization_id
          where m.user_id = ? and (p.require_second_factor = 'all' or (p.require_second_factor = 'admins' and m.role in ('admin', 'root_admin'))) limit 1`,
        [userId],
      );
      return rows.length > 0;
    });
  }

  /** Invitations go only to the allowed domains, when the policy names any. */
  async checkInvitee(organizationId: string, email: string): Promise<void> {
    const { allowedInvitationDomains: allowed } = await this.get(organizationId);
    const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
    if (allowed.length && !allowed.includes(domain)) {
      throw invalid('email', `the organization's policy allows invitations only to ${allowed.join(', ')}`);
    }
  }

  /** A new key of the organization keeps to its lifetime rules (a 400 naming the limit). */
  async checkKeyExpiry(organizationId: string, expiresAt: Date | undefined | null, now: Date): Promise<void> {
    const policy = await this.get(organizationId);
    const max = policy.maxApiKeyLifetimeSeconds;
    if ((policy.apiKeysMustExpire || max > 0) && !expiresAt) {
      throw invalid('expiresIn', `is required: the organization's policy requires API keys to expire${max ? ` within ${max} seconds` : ''}`);
    }
    if (max > 0 && expiresAt && expiresAt.getTime() - now.getTime() > max * 1000) {
      throw invalid('expiresIn', `exceeds the organization's maximum API-key lifetime of ${max} seconds`);
    }
  }
}

/** True when the policy wants a second factor of someone with `role` in its organization. */
export function secondFactorRequired({ requireSecondFactor: r }: PolicyView, role: Role): boolean {
  return r === 'all' || (r === 'admins' && roleAtLeast(role, 'admin'));
}

function viewOf(row: OrgPolicy): PolicyView {
  return {
    requireSecondFactor: row.requireSecondFactor,
    allowedInvitationDomains: row.allowedInvitationDomains,
    maxSessionSeconds: row.maxSessionSeconds,
    maxApiKeyLifetimeSeconds: row.maxApiKeyLifetimeSeconds,
    apiKeysMustExpire: row.apiKeysMustExpire,
    updatedAt: row.updatedAt,
  };
}
