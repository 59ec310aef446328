import { create, type JsonObject } from '@bufbuild/protobuf';
import type { UsageBucket } from '../../../gen/latchkey/v1/api_key_pb.js';
import { type ApiKey as ApiKeyMsg, ApiKeySchema } from '../../../gen/latchkey/v1/common_pb.js';
import { type ApiKey, statusOf } from '../../modules/apikey/index.js';
import type { Counts } from '../../modules/apikey/usage-query.js';
import { ts } from './time.js';

/** A key without its secret. `remaining` may come fresher from the counters than from the row. */
export function toApiKey(k: ApiKey, now: Date, remaining?: number): ApiKeyMsg {
  const left = remaining ?? k.remaining;
  return create(ApiKeySchema, {
    id: k.id,
    name: k.name,
    start: k.start,
    scopes: k.scopes,
    organizationId: k.organizationId ?? '',
    clientOrganizationId: k.clientOrganizationId ?? '',
    createdByUserId: k.createdByUserId,
    personal: !k.organizationId,
    metadata: k.metadata as JsonObject,
    rateLimit: k.rateLimitPerMinute ? { requestsPerMinute: k.rateLimitPerMinute } : undefined,
    remaining: left === null || left === undefined ? undefined : BigInt(left),
    refill: k.refillInterval && k.refillAmount ? { interval: k.refillInterval, amount: BigInt(k.refillAmount) } : undefined,
    enabled: k.enabled,
    status: statusOf(k, now),
    expiresAt: ts(k.expiresAt),
    lastUsedAt: ts(k.lastUsedAt),
    revokedAt: ts(k.revokedAt),
    createdAt: ts(k.createdAt),
    updatedAt: ts(k.updatedAt),
    ipAllowlist: k.ipAllowlist?.length ? { cidrs: k.ipAllowlist } : undefined,
  });
}

/** One GetApiKeyUsage bucket. */
export function toUsageBucket(c: Counts): Omit<UsageBucket, '$typeName'> {
  return {
    startTime: ts(c.start),
    valid: BigInt(c.valid),
    rateLimited: BigInt(c.rate_limited),
    usageExceeded: BigInt(c.usage_exceeded),
    expired: BigInt(c.expired),
    revoked: BigInt(c.revoked),
    disabled: BigInt(c.disabled),
    forbidden: BigInt(c.forbidden),
    total: BigInt(c.total),
  };
}

/** CreateApiKey / RegenerateApiKey: flat, so seed 001 (`key`, `id`) and seed 003 (`apiKeyId`, `apiKeyToken`) both read it. */
export function withSecret(k: ApiKey, secret: string, now: Date) {
  return {
    id: k.id,
    name: k.name,
    key: secret,
    start: k.start,
    scopes: k.scopes,
    expiresAt: ts(k.expiresAt),
    apiKeyId: k.id,
    apiKeyToken: secret,
    apiKey: toApiKey(k, now),
  };
}
