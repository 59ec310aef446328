// The lifecycle of keys: create, list, get, update, regenerate, revoke. Every change commits with
// its audit event in one transaction and then invalidates the hot-path cache on every replica.

import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditLog } from '../audit/audit.service.js';
import type { Actor } from '../audit/events.js';
import type { InvalidationBus } from '../common/bus.js';
import type { Clock } from '../common/clock.js';
import { DomainError, forbidden, invalid, notFound } from '../common/errors.js';
import { cut, type Page } from '../common/page-token.js';
import { homeOrganizationOf, type Principal } from '../common/principal.js';
import { insertAtOnce } from '../common/write-at-once.js';
import { Organization } from '../org/organization.entity.js';
import { capScopes, expandScopes, isLatchkeyScope, isRole, type Role, rankAbove, roleAtLeast, roleRank, scopesOfRole } from '../org/roles.js';
import { ApiKey, type KeyStatus, type RefillInterval } from './api-key.entity.js';
import { periodOf } from './credits.js';
import { allowlistOf, within } from './ip-allowlist.js';
import { generateKey } from './key-format.js';
import type { KeyReach } from './reach.js';
import { budget, DEFAULT_SCOPES, expiry, futureExpiry, gracePeriod, isShorthand, KEY_STATUSES, keyName, metadataOf, rateLimit, refill, scopeList } from './rules.js';

const PARTNER_TYPE = 'partner';

/** Who calls a lifecycle RPC and how (handlers build it from the request). */
export interface KeyCaller {
  principal: Principal;
  actor: Actor;
  /** The organization named by orgid / x-organization-id, if any. */
  tenantHeader?: string;
  /** Called through a /v2/partner/* REST path. */
  partnerRoute?: boolean;
}

export interface CreateInput {
  name: string;
  scopes: readonly string[];
  expiresIn: bigint | number;
  expiresAt?: Date;
  requestsPerMinute?: number;
  metadata?: Record<string, unknown>;
  clientOrganizationId: string;
  remaining?: bigint | number;
  refill?: { interval: string; amount: bigint | number };
  /** CIDR ranges the key may be used from; none = anywhere. */
  ipAllowlist?: readonly string[];
}

export interface UpdateInput {
  name?: string;
  scopes: readonly string[];
  requestsPerMinute?: number;
  enabled?: boolean;
  remaining?: bigint | number;
  refill?: { interval: string; amount: bigint | number };
  expiresAt?: Date;
  /** Replaces the IP allowlist; [] removes it; undefined keeps it. */
  ipAllowlist?: readonly string[];
}

export interface ListQuery {
  organizationId: string;
  createdByUserId: string;
  status: string;
}

const noKey = () => notFound('API key');

/** An organization's rules for new keys (org/policy.ts). */
export interface KeyPolicy {
  checkKeyExpiry(organizationId: string, expiresAt: Date | null | undefined, now: Date): Promise<void>;
}

export class ApiKeyLifecycle {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly reach: KeyReach,
    private readonly bus: InvalidationBus,
    private readonly opts: { prefix: string; orgTypes: string[]; keyPolicy?: KeyPolicy },
  ) {}

  async create(c: KeyCaller, input: CreateInput): Promise<{ key: ApiKey; secret: string }> {
    const now = this.clock.now();
    const name = keyName(input.name);
    const metadata = metadataOf(input.metadata);
    const asked = expiry(now, input.expiresIn, input.expiresAt);
    const rpm = rateLimit(input.requestsPerMinute ?? 0);
    const refillOf = refill(input.refill);
    const remaining = budget(input.remaining) ?? refillOf?.amount ?? null;
    const requested = input.scopes.length ? scopeList(input.scopes) : DEFAULT_SCOPES;
    const p = c.principal;
    const passed = this.withinCallingKey(
      await this.callingKey(this.em, p),
      { ipAllowlist: allowlistOf(input.ipAllowlist ?? [], 'ipAllowlist.cidrs'), expiresAt: asked },
      { inherit: true, handsOn: true },
    );
    const ipAllowlist = passed.ipAllowlist ?? [];
    const expiresAt = passed.expiresAt ?? null;
    const pin = metadata.organizationId as string | undefined;
    const clientId = input.clientOrganizationId.trim() || undefined;
    this.refuseClientKeyOnPartnerRoute(c);

    const organizationId = c.tenantHeader ?? (clientId ? await this.partnerOf(clientId) : undefined) ?? pin ?? homeOrganizationOf(p);
    if (c.partnerRoute && !organizationId) throw new DomainError('TENANT_REQUIRED', 'Missing orgid or x-organization-id header', { header: 'orgid' });
    let grantRole: Role;
    if (organizationId) {
      const role = await this.reach.roleIn(p, organizationId);
      if (!role) throw notFound('Organization');
      const org = await this.em.findOne(Organization, { id: organizationId }, { fields: ['id', 'type'] });
      if (!org) throw notFound('Organization');
      if (org.type === PARTNER_TYPE) {
        if (!roleAtLeast(role, 'admin')) throw forbidden('Partner keys need the admin or root_admin role', 'ROLE_REQUIRED');
      } else {
        if (c.partnerRoute) throw forbidden('The organization is not a partner organization', 'PARTNER_REQUIRED');
        if (clientId) throw invalid('clientOrganizationId', 'only a partner organization has client organizations');
      }
      if (clientId) {
        const client = await this.em.findOne(Organization, { id: clientId }, { fields: ['id', 'partnerId'] });
        if (!client || client.partnerId !== organizationId) throw notFound('Client organization');
      }
      if (pin && pin !== (clientId ?? organizationId)) throw invalid('metadata.organizationId', "must be the key's organization");
      if (this.opts.orgTypes.length && !this.opts.orgTypes.includes(org.type)) {
        throw forbidden(`API keys cannot be created in an organization of type "${org.type}"`);
      }
      await this.opts.keyPolicy?.checkKeyExpiry(organizationId, expiresAt, now);
      grantRole = role;
    } else {
      grantRole = await this.bestRoleOf(p.userId);
    }
    const scopes = grant(requested, grantRole, callerScopes(p, grantRole));

    const { key: secret, hash, start } = generateKey(this.opts.prefix);
    const key = await this.em.transactional(async (tx) => {
      // The key and its audit event go in as one statement (select, BEGIN, insert, COMMIT in all).
      const scratch = tx.fork({ keepTransactionContext: true });
      const k = scratch.create(ApiKey, {
        name,
        keyHash: hash,
        start,
        previousKeyHash: null,
        previousExpiresAt: null,
        organizationId: organizationId ?? null,
        clientOrganizationId: clientId ?? null,
        pinnedOrganizationId: pin ?? null,
        createdByUserId: p.userId,
        scopes,
        metadata,
        rateLimitPerMinute: rpm,
        remaining,
        remainingPeriod: periodOf(refillOf?.interval ?? null, now.getTime()),
        creditsGeneration: 0,
        refillInterval: refillOf?.interval ?? null,
        refillAmount: refillOf?.amount ?? null,
        enabled: true,
        limitsSetByRole: null,
        expiresAt,
        lastUsedAt: null,
        revokedAt: null,
        ipAllowlist: ipAllowlist.length ? ipAllowlist : null,
      });
      await this.record(scratch, c.actor, k, 'api_key.created', { name, start, scopes, expiresAt: expiresAt?.toISOString() ?? null, ...(ipAllowlist.length ? { ipAllowlist } : {}) });
      await insertAtOnce(tx, scratch);
      return k;
    });
    return { key, secret };
  }

  async list(c: KeyCaller, q: ListQuery, page: Page): Promise<{ items: ApiKey[]; next: string }> {
    if (q.status && !(KEY_STATUSES as readonly string[]).includes(q.status)) throw invalid('status', 'must be "active", "expired", "revoked" or "disabled"');
    const visible = await this.visible(c, q.organizationId, q.createdByUserId);
    if (!visible) return { items: [], next: '' };
    const where: Record<string, unknown> = { ...visible };
    Object.assign(where, statusFilter(q.status as KeyStatus | '', this.clock.now()));
    if (page.cursor) where.id = { $lt: page.cursor.after };
    const rows = await this.em.find(ApiKey, where, { orderBy: { id: 'desc' }, limit: page.size + 1 });
    return cut(rows, page, (k) => k.id);
  }

  /**
   * Which keys the caller may see in the organization named (or by the tenant header, or their home
   * organization), or their personal tokens without one: ListApiKeys' rule, also GetApiKeyUsage's.
   * Undefined when nothing is visible.
   */
  async visible(c: KeyCaller, organizationIdRaw: string, createdByUserId = ''): Promise<{ organizationId: string | null; createdByUserId?: string } | undefined> {
    const p = c.principal;
    this.refuseClientKeyOnPartnerRoute(c);
    const organizationId = organizationIdRaw.trim() || c.tenantHeader || homeOrganizationOf(p);
    if (c.partnerRoute && !organizationId) throw new DomainError('TENANT_REQUIRED', 'Missing orgid or x-organization-id header', { header: 'orgid' });
    if (!organizationId) {
      if (createdByUserId && createdByUserId !== p.userId) return undefined;
      return { organizationId: null, createdByUserId: p.userId };
    }
    const role = await this.reach.roleIn(p, organizationId);
    if (!role) return undefined;
    const org = await this.em.findOne(Organization, { id: organizationId }, { fields: ['id', 'type'] });
    if (!org) return undefined;
    if (org.type === PARTNER_TYPE && !roleAtLeast(role, 'admin')) throw forbidden('Partner keys need the admin or root_admin role', 'ROLE_REQUIRED');
    if (c.partnerRoute && org.type !== PARTNER_TYPE) throw forbidden('The organization is not a partner organization', 'PARTNER_REQUIRED');
    if (!roleAtLeast(role, 'admin')) {
      if (createdByUserId && createdByUserId !== p.userId) return undefined;
      return { organizationId, createdByUserId: p.userId };
    }
    return createdByUserId ? { organizationId, createdByUserId } : { organizationId };
  }

  async get(c: KeyCaller, keyId: string): Promise<ApiKey> {
    return (await this.managed(c, keyId, this.em, 'read')).key;
  }

  async update(c: KeyCaller, keyId: string, input: UpdateInput): Promise<ApiKey> {
    const now = this.clock.now();
    const name = input.name !== undefined ? keyName(input.name) : undefined;
    const requested = input.scopes.length ? scopeList(input.scopes) : undefined;
    const rpm = input.requestsPerMinute !== undefined ? rateLimit(input.requestsPerMinute) : undefined;
    const remaining = budget(input.remaining);
    const refillOf = input.refill ? refill(input.refill) : undefined;
    const expiresAt = input.expiresAt ? futureExpiry(now, input.expiresAt) : undefined;
    const ipAllowlist = input.ipAllowlist ? allowlistOf(input.ipAllowlist, 'ipAllowlist.cidrs') : undefined;
    // The IP allowlist is a limit like the others: a key never widens its own, a lower role never lifts a higher one's.
    const budgets = rpm !== undefined || input.remaining !== undefined || input.refill !== undefined || expiresAt !== undefined || ipAllowlist !== undefined;
    const key = await this.em.transactional(async (tx) => {
      const { key: k, role: callerRole } = await this.managed(c, keyId, tx, 'manage');
      if (k.revokedAt) throw new DomainError('API_KEY_ALREADY_REVOKED', 'API key is revoked');
      const toggles = input.enabled !== undefined && input.enabled !== k.enabled;
      if (budgets || toggles || requested) this.refuseSelfChange(c.principal, k);
      if (budgets || toggles) await this.assertMayChangeLimits(k, callerRole, !budgets && input.enabled === false);
      if (ipAllowlist !== undefined || expiresAt !== undefined) this.withinCallingKey(await this.callingKey(tx, c.principal), { id: k.id, ipAllowlist, expiresAt });
      const changed: string[] = [];
      if (name !== undefined && name !== k.name) (k.name = name), changed.push('name');
      if (requested) {
        // Within the creator's current rights (and the calling credential's, if it is scoped).
        const creatorRole = k.organizationId ? await this.reach.roleOfUser(k.createdByUserId, k.organizationId) : await this.bestRoleOf(k.createdByUserId);
        if (!creatorRole) throw forbidden("The key's creator is no longer a member of its organization");
        k.scopes = grant(requested, creatorRole, callerScopes(c.principal, creatorRole));
        changed.push('scopes');
      }
      if (rpm !== undefined) (k.rateLimitPerMinute = rpm), changed.push('rateLimit');
      if (input.enabled !== undefined && input.enabled !== k.enabled) (k.enabled = input.enabled), changed.push('enabled');
      if (refillOf !== undefined) {
        k.refillInterval = refillOf?.interval ?? null;
        k.refillAmount = refillOf?.amount ?? null;
        changed.push('refill');
      }
      if (remaining !== null || (refillOf && k.remaining === null)) {
        // A new budget: counters of the old generation stop counting.
        k.remaining = remaining ?? refillOf!.amount;
        k.remainingPeriod = periodOf(k.refillInterval as RefillInterval | null, now.getTime());
        k.creditsGeneration += 1;
        changed.push('remaining');
      } else if (refillOf !== undefined) {
        k.remainingPeriod = periodOf(k.refillInterval as RefillInterval | null, now.getTime());
        k.creditsGeneration += 1;
      }
      if (expiresAt) (k.expiresAt = expiresAt), changed.push('expiresAt');
      if (ipAllowlist !== undefined) (k.ipAllowlist = ipAllowlist.length ? ipAllowlist : null), changed.push('ipAllowlist');
      if (changed.length) {
        const extra = { ...(changed.includes('scopes') ? { scopes: k.scopes } : {}), ...(ipAllowlist !== undefined ? { ipAllowlist } : {}) };
        await this.record(tx, c.actor, k, 'api_key.updated', { changed, ...extra });
      }
      return k;
    });
    this.bus.invalidate({ keyId: key.id });
    return key;
  }

  async regenerate(c: KeyCaller, keyId: string, graceSeconds: bigint | number): Promise<{ key: ApiKey; secret: string }> {
    const grace = gracePeriod(graceSeconds);
    const now = this.clock.now();
    const fresh = generateKey(this.opts.prefix);
    const key = await this.em.transactional(async (tx) => {
      const { key: k } = await this.managed(c, keyId, tx, 'manage');
      if (k.revokedAt) throw new DomainError('API_KEY_ALREADY_REVOKED', 'API key is revoked');
      this.withinCallingKey(await this.callingKey(tx, c.principal), { id: k.id, ipAllowlist: k.ipAllowlist ?? [], expiresAt: k.expiresAt }, { handsOn: true });
      k.previousKeyHash = grace ? k.keyHash : null;
      k.previousExpiresAt = grace ? new Date(now.getTime() + grace * 1000) : null;
      k.keyHash = fresh.hash;
      k.start = fresh.start;
      await this.record(tx, c.actor, k, 'api_key.regenerated', { start: fresh.start, gracePeriodSeconds: grace });
      return k;
    });
    this.bus.invalidate({ keyId: key.id });
    return { key, secret: fresh.key };
  }

  async revoke(c: KeyCaller, keyId: string): Promise<ApiKey> {
    this.refuseClientKeyOnPartnerRoute(c);
    const key = await this.em.transactional(async (tx) => {
      const { key: k } = await this.managed(c, keyId, tx, 'revoke');
      if (k.revokedAt) return k;
      this.markRevoked(k);
      await this.record(tx, c.actor, k, 'api_key.revoked', { start: k.start });
      return k;
    });
    this.bus.invalidate({ keyId: key.id });
    return key;
  }

  /** Revoke every key and personal token the user created (an account claimed by its email's owner). */
  async revokeAllOfUser(userId: string, actor: Actor): Promise<number> {
    const n = await this.em.transactional(async (tx) => {
      const keys = await tx.find(ApiKey, { createdByUserId: userId, revokedAt: null }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      for (const k of keys) {
        this.markRevoked(k);
        await this.record(tx, actor, k, 'api_key.revoked', { start: k.start, reason: 'account_claimed' });
      }
      return keys.length;
    });
    if (n) this.bus.invalidate({ userId });
    return n;
  }

  markRevoked(k: ApiKey): void {
    k.revokedAt = this.clock.now();
    k.previousKeyHash = null;
    k.previousExpiresAt = null;
  }

  /**
   * The key if the caller may see it (404 otherwise, never a hint that it exists) and do `action` with
   * it, with the caller's role in the key's organization (undefined for a personal token: owner only).
   * The rank rule: 'manage' (update, regenerate) a key of someone else needs admin and an owner whose
   * current role is not above the caller's (403); 'revoke' needs admin at any rank (a safety action
   * that hands out nothing); 'read' needs admin.
   */
  private async managed(c: KeyCaller, keyId: string, em: EntityManager, action: 'read' | 'manage' | 'revoke'): Promise<{ key: ApiKey; role?: Role }> {
    const p = c.principal;
    if (!/^ak_[0-9A-Z]{26}$/.test(keyId)) throw noKey();
    const k = await em.findOne(ApiKey, { id: keyId }, action !== 'read' ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {});
    if (!k) throw noKey();
    if (!k.organizationId) {
      // A personal token: only its owner, through a credential that is not confined to an organization.
      if (c.partnerRoute || k.createdByUserId !== p.userId || homeOrganizationOf(p)) throw noKey();
      return { key: k };
    }
    let role: Role | undefined;
    try {
      role = await this.reach.roleIn(p, k.organizationId);
    } catch (e) {
      if (e instanceof DomainError && e.code === 'FORBIDDEN') throw noKey();
      throw e;
    }
    if (!role) throw noKey();
    if (c.partnerRoute) {
      const org = await em.findOne(Organization, { id: k.organizationId }, { fields: ['id', 'type'] });
      if (org?.type !== PARTNER_TYPE) throw noKey();
      if (!roleAtLeast(role, 'admin')) throw forbidden('Partner keys need the admin or root_admin role', 'ROLE_REQUIRED');
    }
    if (k.createdByUserId !== p.userId) {
      if (!roleAtLeast(role, 'admin')) throw noKey();
      if (action === 'manage') {
        const owner = await this.reach.roleOfUser(k.createdByUserId, k.organizationId);
        if (owner && rankAbove(owner, role)) throw forbidden("You cannot change an API key whose owner's role is above yours", 'ROLE_ABOVE_CALLER');
      }
    }
    return { key: k, role };
  }

  /** A key (or a token exchanged from it) never changes its own limits, scopes, state or expiry. */
  private refuseSelfChange(p: Principal, k: ApiKey): void {
    const keyId = p.kind === 'apiKey' ? p.keyId : p.kind === 'jwt' ? p.actor?.keyId : undefined;
    if (keyId === k.id) throw forbidden('An API key cannot change its own limits, scopes, state or expiry');
  }

  /** The key a call comes through (its own secret, or a token exchanged from it); undefined otherwise. */
  private async callingKey(em: EntityManager, p: Principal): Promise<ApiKey | undefined> {
    const keyId = p.kind === 'apiKey' ? p.keyId : p.kind === 'jwt' ? p.actor?.keyId : undefined;
    if (!keyId?.startsWith('ak_')) return undefined;
    return (await em.findOne(ApiKey, { id: keyId })) ?? undefined;
  }

  /**
   * A key with limits never hands on a key without them: a key it creates, regenerates (it receives
   * the secret) or changes must be used from within its IP allowlist and expire no later than it; a
   * key with a usage budget or a rate limit hands on no key at all (each would have its own). On
   * create (`inherit`), a key naming no allowlist or expiry gets the caller's.
   */
  private withinCallingKey(
    caller: ApiKey | undefined,
    target: { id?: string; ipAllowlist?: string[] | null; expiresAt?: Date | null },
    o: { inherit?: boolean; handsOn?: boolean } = {},
  ): { ipAllowlist?: string[] | null; expiresAt?: Date | null } {
    if (!caller || caller.id === target.id) return target;
    if (o.handsOn && (caller.remaining !== null || caller.rateLimitPerMinute)) {
      throw forbidden('An API key with a usage budget or a rate limit cannot create or regenerate keys: the new secret would have limits of its own');
    }
    const out = { ...target };
    const own = caller.ipAllowlist;
    if (own?.length && target.ipAllowlist !== undefined) {
      if (o.inherit && !target.ipAllowlist?.length) out.ipAllowlist = [...own];
      else if (!within(target.ipAllowlist ?? [], own)) {
        throw forbidden("The calling API key has an IP allowlist: a key it creates, regenerates or restricts must be restricted within it (ipAllowlist.cidrs inside the calling key's)");
      }
    }
    if (caller.expiresAt && target.expiresAt !== undefined) {
      if (o.inherit && !target.expiresAt) out.expiresAt = caller.expiresAt;
      else if (!target.expiresAt || target.expiresAt > caller.expiresAt) throw forbidden('The calling API key expires: a key it creates, regenerates or changes must expire no later than it');
    }
    return out;
  }

  /**
   * Limits set by a role above the key's creator are changed or lifted only at that role or above;
   * disabling is always allowed to whoever may manage the key. Records who set them for next time.
   */
  private async assertMayChangeLimits(k: ApiKey, callerRole: Role | undefined, disableOnly: boolean): Promise<void> {
    if (!k.organizationId || !callerRole) return; // a personal token: only its owner manages it
    const setBy = k.limitsSetByRole && isRole(k.limitsSetByRole) ? k.limitsSetByRole : null;
    if (!disableOnly && setBy && rankAbove(setBy, callerRole)) throw forbidden(`These limits were set by a ${setBy}; only a ${setBy} can change them`, 'ROLE_ABOVE_CALLER');
    const creator = await this.reach.roleOfUser(k.createdByUserId, k.organizationId);
    const mine = creator && !rankAbove(callerRole, creator) ? null : callerRole;
    k.limitsSetByRole = disableOnly ? (setBy && (!mine || rankAbove(setBy, mine)) ? setBy : mine) : mine;
  }

  private refuseClientKeyOnPartnerRoute(c: KeyCaller): void {
    if (c.partnerRoute && c.principal.kind === 'apiKey' && c.principal.partner === 'client') throw forbidden('Client keys cannot use the partner APIs', 'PARTNER_API_FORBIDDEN');
  }

  private async partnerOf(clientId: string): Promise<string> {
    const client = await this.em.findOne(Organization, { id: clientId }, { fields: ['id', 'partnerId'] });
    if (!client?.partnerId) throw notFound('Client organization');
    return client.partnerId;
  }

  /** The highest role the user holds anywhere: what a personal access token may be granted. */
  private async bestRoleOf(userId: string): Promise<Role> {
    const rows = await this.em.execute<{ role: string }[]>('select distinct role from memberships where user_id = ?', [userId]);
    let best: Role = 'member';
    for (const r of rows) if (isRole(r.role) && roleRank(r.role) > roleRank(best)) best = r.role;
    return best;
  }

  /** An event in the key's organization, or in each of its owner's organizations for a personal token. */
  async record(
    tx: EntityManager,
    actor: Actor,
    k: ApiKey,
    type: 'api_key.created' | 'api_key.updated' | 'api_key.regenerated' | 'api_key.revoked' | 'api_key.leak_reported' | 'api_key.leaked',
    metadata: Record<string, unknown>,
  ): Promise<void> {
    const e = { ...actor, type, targetType: 'api_key', targetId: k.id, metadata: { ...metadata, personal: !k.organizationId } };
    if (k.organizationId) {
      this.audit.record(tx, { ...e, organizationId: k.organizationId });
      if (k.clientOrganizationId) this.audit.record(tx, { ...e, organizationId: k.clientOrganizationId });
    } else await this.audit.recordForUser(tx, k.createdByUserId, e);
  }
}

/** What a scoped caller may pass on (its scopes ∩ the role's); undefined = a session's full rights. */
function callerScopes(p: Principal, role: Role): string[] | undefined {
  const own = p.kind === 'session' ? undefined : p.scopes;
  return own && capScopes(own, role);
}

/**
 * The scopes to store. Shorthands mean "every read / write scope the role allows" and never fail;
 * a named Latchkey scope beyond the role, or beyond a scoped caller's own scopes, is refused.
 */
function grant(requested: string[], role: Role, caller: string[] | undefined): string[] {
  const grantable = scopesOfRole(role);
  for (const s of requested) {
    if (isShorthand(s)) continue;
    if (isLatchkeyScope(s) && !grantable.has(s)) throw forbidden(`The scope ${s} is beyond your role`, 'SCOPE_BEYOND_ROLE');
    if (caller && !caller.includes(s)) throw forbidden(`The scope ${s} is beyond the scopes of the calling credential`, 'SCOPE_BEYOND_ROLE');
  }
  if (!caller) return requested;
  // A key minting a key: expand shorthands and keep only what the caller holds.
  const out = new Set<string>();
  for (const s of requested) {
    if (isShorthand(s))
      expandScopes([s])
        .filter((x) => caller.includes(x))
        .forEach((x) => out.add(x));
    else out.add(s);
  }
  return [...out];
}

function statusFilter(status: KeyStatus | '', now: Date): Record<string, unknown> {
  switch (status) {
    case 'revoked':
      return { revokedAt: { $ne: null } };
    case 'disabled':
      return { revokedAt: null, enabled: false };
    case 'expired':
      return { revokedAt: null, enabled: true, expiresAt: { $lte: now } };
    case 'active':
      return { revokedAt: null, enabled: true, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] };
    default:
      return {};
  }
}
