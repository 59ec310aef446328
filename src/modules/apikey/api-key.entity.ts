import { defineEntity, p } from '@mikro-orm/core';
import { UserSchema } from '../account/user.entity.js';
import { ulid } from '../common/ids.js';
import { OrganizationSchema } from '../org/organization.entity.js';
import type { Role } from '../org/roles.js';

export type RefillInterval = 'minute' | 'hour' | 'day' | 'month';

/** An API key or personal access token. Only the SHA-256 of the secret is stored, never the secret. */
export const ApiKeySchema = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  // As the migrations create them (the partial ones written out): lists page by (organization or creator, id).
  indexes: [
    { name: 'api_keys_organization_id_id_index', properties: ['organizationId', 'id'] },
    { name: 'api_keys_created_by_user_id_id_index', properties: ['createdByUserId', 'id'] },
    { name: 'api_keys_client_organization_id_index', expression: 'create index api_keys_client_organization_id_index on api_keys (client_organization_id) where client_organization_id is not null' },
    { name: 'api_keys_pinned_organization_id_index', expression: 'create index api_keys_pinned_organization_id_index on api_keys (pinned_organization_id) where pinned_organization_id is not null' },
  ],
  uniques: [{ name: 'api_keys_previous_key_hash_unique', expression: 'create unique index api_keys_previous_key_hash_unique on api_keys (previous_key_hash) where previous_key_hash is not null' }],
  properties: {
    id: p
      .string()
      .primary()
      .length(32)
      .onCreate(() => `ak_${ulid()}`),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    name: p.string().length(200),
    /** SHA-256 (base64url) of the whole key. */
    keyHash: p.string().length(64).unique().hidden(),
    /** Prefix and the first characters of the secret, for display. */
    start: p.string().length(40),
    /** Hash of the secret replaced by RegenerateApiKey, accepted until previousExpiresAt (grace period). */
    previousKeyHash: p.string().length(64).nullable().hidden(),
    previousExpiresAt: p.datetime().nullable(),
    /** Null for a personal access token. */
    organizationId: p.manyToOne(OrganizationSchema).mapToPk().fieldName('organization_id').deleteRule('cascade').deferMode('deferred').nullable(),
    /** A partner's client key: the client organization it is limited to. */
    clientOrganizationId: p.manyToOne(OrganizationSchema).mapToPk().fieldName('client_organization_id').deleteRule('cascade').deferMode('deferred').nullable(),
    /** metadata.organizationId: requests for any other organization are refused. */
    pinnedOrganizationId: p.manyToOne(OrganizationSchema).mapToPk().fieldName('pinned_organization_id').deleteRule('cascade').deferMode('deferred').nullable(),
    createdByUserId: p.manyToOne(UserSchema).mapToPk().fieldName('created_by_user_id').deleteRule('cascade').deferMode('deferred'),
    /** As given (shorthands `read` / `write` kept). */
    scopes: p.json<string[]>(),
    metadata: p.json<Record<string, unknown>>(),
    rateLimitPerMinute: p.integer().nullable(),
    /** Usage budget as of `remainingPeriod` (written behind from the counters); null = unlimited. */
    remaining: p.bigint('number').nullable(),
    /** Refill period the `remaining` value belongs to (see credits.ts). */
    remainingPeriod: p.bigint('number').default(0),
    /** Bumped when the budget is set by UpdateApiKey: counters of older generations are ignored. */
    creditsGeneration: p.integer().default(0),
    refillInterval: p.string().length(8).nullable().$type<RefillInterval | null>(),
    refillAmount: p.bigint('number').nullable(),
    enabled: p.boolean().default(true),
    /** The role that last set the limits (rate limit, budget, refill, expiry, disable) when it ranks above
     * the key's creator; only a caller at that role or above may change or lift them. Null = the creator's level. */
    limitsSetByRole: p.string().length(16).nullable().default(null).$type<Role | null>(),
    expiresAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    /** CIDR ranges the key may be used from; null (or empty) = anywhere. */
    ipAllowlist: p.json<string[]>().nullable(),
  },
});

export class ApiKey extends ApiKeySchema.class {}
ApiKeySchema.setClass(ApiKey);

export type KeyStatus = 'active' | 'expired' | 'revoked' | 'disabled';

export function statusOf(k: Pick<ApiKey, 'revokedAt' | 'enabled' | 'expiresAt'>, now: Date): KeyStatus {
  if (k.revokedAt) return 'revoked';
  if (!k.enabled) return 'disabled';
  if (k.expiresAt && k.expiresAt <= now) return 'expired';
  return 'active';
}
