// What the hot path knows about a key: a plain snapshot loaded in ONE query (the key, its owner's
// state and the owner's current role where the key acts) and then served from memory.

import type { BlockList } from 'node:net';
import type { EntityManager } from '@mikro-orm/postgresql';
import { expandScopes, type Role } from '../org/roles.js';
import { accessFrom, roleSql } from '../org/tenant-roles.js';
import type { RefillInterval } from './api-key.entity.js';
import { compileAllowlist } from './ip-allowlist.js';
import type { UsageCounter } from './usage.js';

export interface KeyRecord {
  id: string;
  keyHash: string;
  previousKeyHash: string | null;
  /** ms; the previous secret works until then. */
  previousExpiresAt: number | null;
  organizationId: string | null;
  clientOrganizationId: string | null;
  pinnedOrganizationId: string | null;
  userId: string;
  /** Stored scopes with `read` / `write` expanded. */
  scopes: string[];
  metadata: Record<string, unknown>;
  rateLimitPerMinute: number | null;
  remaining: number | null;
  remainingPeriod: number;
  creditsGeneration: number;
  refillInterval: RefillInterval | null;
  refillAmount: number | null;
  enabled: boolean;
  expiresAt: number | null;
  revokedAt: number | null;
  /** ms; updated in memory on use, written behind. */
  lastUsedAt: number | null;
  ownerActive: boolean;
  /** Owner's role in the organization the key acts in (client organization for a client key); null = none. */
  ownerRole: Role | null;
  /** 'partner' / 'client' for keys of a partner organization. */
  partner: 'partner' | 'client' | undefined;
  /** The IP allowlist compiled once at load; null = any address. */
  allowlist: BlockList | null;
  /** This minute's usage counter of the key (usage.ts), kept on the record so counting needs no lookup. */
  counter?: UsageCounter;
}

interface Row {
  id: string;
  key_hash: string;
  previous_key_hash: string | null;
  previous_expires_at: Date | string | null;
  organization_id: string | null;
  client_organization_id: string | null;
  pinned_organization_id: string | null;
  created_by_user_id: string;
  scopes: string[] | string;
  metadata: Record<string, unknown> | string;
  rate_limit_per_minute: number | null;
  remaining: string | number | null;
  remaining_period: string | number;
  credits_generation: number;
  refill_interval: RefillInterval | null;
  refill_amount: string | number | null;
  enabled: boolean;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
  last_used_at: Date | string | null;
  owner_active: boolean;
  org_type: string | null;
  direct_role: string | null;
  partner_role: string | null;
  ip_allowlist: string[] | string | null;
}

const ms = (d: Date | string | null): number | null => (d === null ? null : new Date(d).getTime());
const num = (v: string | number | null): number | null => (v === null ? null : Number(v));
const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

// The owner's role by the org module's rule (roleSql), folded in so a cold key costs one round trip.
const OWNER_ROLE = roleSql('k.created_by_user_id', 'coalesce(k.client_organization_id, k.organization_id)');
const SELECT = `select k.id, k.key_hash, k.previous_key_hash, k.previous_expires_at, k.organization_id,
    k.client_organization_id, k.pinned_organization_id, k.created_by_user_id, k.scopes, k.metadata,
    k.rate_limit_per_minute, k.remaining, k.remaining_period, k.credits_generation, k.refill_interval,
    k.refill_amount, k.enabled, k.expires_at, k.revoked_at, k.last_used_at, k.ip_allowlist,
    u.is_active as owner_active, o.type as org_type,
    ${OWNER_ROLE.direct} as direct_role, ${OWNER_ROLE.viaPartner} as partner_role
  from api_keys k
  join users u on u.id = k.created_by_user_id
  left join organizations o on o.id = k.organization_id`;

function toRecord(r: Row): KeyRecord {
  return {
    id: r.id,
    keyHash: r.key_hash,
    previousKeyHash: r.previous_key_hash,
    previousExpiresAt: ms(r.previous_expires_at),
    organizationId: r.organization_id,
    clientOrganizationId: r.client_organization_id,
    pinnedOrganizationId: r.pinned_organization_id,
    userId: r.created_by_user_id,
    scopes: expandScopes(json<string[]>(r.scopes)),
    metadata: json<Record<string, unknown>>(r.metadata),
    rateLimitPerMinute: r.rate_limit_per_minute,
    remaining: num(r.remaining),
    remainingPeriod: Number(r.remaining_period),
    creditsGeneration: r.credits_generation,
    refillInterval: r.refill_interval,
    refillAmount: num(r.refill_amount),
    enabled: r.enabled,
    expiresAt: ms(r.expires_at),
    revokedAt: ms(r.revoked_at),
    lastUsedAt: ms(r.last_used_at),
    ownerActive: r.owner_active,
    ownerRole: r.organization_id ? (accessFrom(r.direct_role, r.partner_role)?.role ?? null) : null,
    partner: r.org_type === 'partner' ? (r.client_organization_id ? 'client' : 'partner') : undefined,
    allowlist: compileAllowlist(r.ip_allowlist === null ? null : json<string[]>(r.ip_allowlist)),
  };
}

/** The key whose current or previous secret hashes to `hash`, or null. One round trip. */
export async function loadByHash(em: EntityManager, hash: string): Promise<KeyRecord | null> {
  const rows = await em.getConnection().execute<Row[]>(`${SELECT} where k.key_hash = ? or k.previous_key_hash = ? limit 2`, [hash, hash]);
  const row = rows.find((r) => r.key_hash === hash) ?? rows[0];
  return row ? toRecord(row) : null;
}

export async function loadById(em: EntityManager, id: string): Promise<KeyRecord | null> {
  const rows = await em.getConnection().execute<Row[]>(`${SELECT} where k.id = ?`, [id]);
  return rows[0] ? toRecord(rows[0]) : null;
}
