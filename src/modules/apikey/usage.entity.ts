import { defineEntity, p } from '@mikro-orm/core';
import { ApiKeySchema } from './api-key.entity.js';

export type UsageResolution = 'minute' | 'hour';

/** Verifications of one key in one minute (or, rolled up, one hour), by outcome. Written behind the hot path. */
export const ApiKeyUsageSchema = defineEntity({
  name: 'ApiKeyUsage',
  tableName: 'api_key_usage',
  // As the migrations create them: organization-wide usage, and the roll-up / retention job, scan by time.
  indexes: [
    { name: 'api_key_usage_organization_id_resolution_bucket_index', properties: ['organizationId', 'resolution', 'bucket'] },
    { name: 'api_key_usage_resolution_bucket_index', properties: ['resolution', 'bucket'] },
  ],
  properties: {
    keyId: p.manyToOne(ApiKeySchema).mapToPk().primary().fieldName('key_id').deleteRule('cascade'),
    resolution: p.string().length(6).primary().$type<UsageResolution>(),
    /** Start of the minute or hour. */
    bucket: p.datetime().primary(),
    /** The key's organization (null for a personal token), for organization-wide queries. */
    organizationId: p.string().length(26).nullable(),
    valid: p.bigint('number'),
    rateLimited: p.bigint('number'),
    usageExceeded: p.bigint('number'),
    expired: p.bigint('number'),
    revoked: p.bigint('number'),
    disabled: p.bigint('number'),
    forbidden: p.bigint('number'),
  },
});

class ApiKeyUsage extends ApiKeyUsageSchema.class {}
ApiKeyUsageSchema.setClass(ApiKeyUsage);

/** A network (/24 IPv4, /48 IPv6) a key was used from: new-source alerts compare against these. */
export const ApiKeySourceSchema = defineEntity({
  name: 'ApiKeySource',
  tableName: 'api_key_sources',
  properties: {
    keyId: p.manyToOne(ApiKeySchema).mapToPk().primary().fieldName('key_id').deleteRule('cascade'),
    network: p.string().length(64).primary(),
    firstSeenAt: p.datetime(),
    lastSeenAt: p.datetime(),
    /** Last `api_key.new_source` event for this network (at most one a day). */
    alertedAt: p.datetime().nullable(),
  },
});

class ApiKeySource extends ApiKeySourceSchema.class {}
ApiKeySourceSchema.setClass(ApiKeySource);
