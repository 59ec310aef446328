// ApiKeyService handlers: parse, call the api-key module, map. The lifecycle RPCs resolve their own
// organization (a key may be personal, of the tenant, or reached by id), so their access rules have
// TENANT_NONE; VerifyApiKey is the hot path, answered from memory when warm.

import type { JsonObject } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { type ApiKeyService, UsageResolution } from '../../../gen/latchkey/v1/api_key_pb.js';
import type { ApiKeys, KeyCaller } from '../../modules/apikey/index.js';
import type { Clock } from '../../modules/common/clock.js';
import { invalid } from '../../modules/common/errors.js';
import { readPage } from '../../modules/common/page-token.js';
import { accessOf, isPartnerCall } from '../access.js';
import { restPathKey } from '../context.js';
import { actorOf } from '../interceptors/tenancy.js';
import { toApiKey, toUsageBucket, withSecret } from '../mappers/api-key.js';
import { ts } from '../mappers/time.js';
import { tenantHeaderOf } from '../tenant-header.js';
import { principalOf } from './caller.js';

function callerOf(ctx: HandlerContext): KeyCaller {
  return {
    principal: principalOf(ctx),
    actor: actorOf(ctx),
    tenantHeader: tenantHeaderOf((n) => ctx.requestHeader.get(n))?.id,
    // The binding's access rule says whether it is a partner API (the tenancy interceptor has already
    // refused client keys there).
    partnerRoute: isPartnerCall(accessOf(ctx.method), ctx.values.get(restPathKey)),
  };
}

/** What the ApiKeyService handlers call. */
export interface ApiKeyHandlerDeps {
  apiKeys: Pick<ApiKeys, 'lifecycle' | 'verifier' | 'leaks' | 'usage' | 'usageQuery'>;
  clock: Clock;
}

export function apiKeyHandlers({ apiKeys, clock }: ApiKeyHandlerDeps): ServiceImpl<typeof ApiKeyService> {
  const { lifecycle, verifier, leaks, usage, usageQuery } = apiKeys;
  const now = () => clock.now();
  const shown = (k: Parameters<typeof toApiKey>[0]) => toApiKey(k, now(), usage.pendingRemaining(k.id, k.creditsGeneration));
  return {
    async createApiKey(req, ctx) {
      const { key, secret } = await lifecycle.create(callerOf(ctx), {
        name: req.name,
        scopes: req.scopes,
        expiresIn: req.expiresIn,
        expiresAt: req.expiresAt ? timestampDate(req.expiresAt) : undefined,
        requestsPerMinute: req.rateLimit?.requestsPerMinute,
        metadata: req.metadata,
        clientOrganizationId: req.clientOrganizationId,
        remaining: req.remaining,
        refill: req.refill,
        ipAllowlist: req.ipAllowlist?.cidrs,
      });
      return withSecret(key, secret, now());
    },

    async listApiKeys(req, ctx) {
      const q = { organizationId: req.organizationId, createdByUserId: req.createdByUserId, status: req.status };
      const { items, next } = await lifecycle.list(callerOf(ctx), q, readPage(req.pageSize, req.pageToken));
      return { apiKeys: items.map(shown), nextPageToken: next };
    },

    async getApiKey(req, ctx) {
      return { apiKey: shown(await lifecycle.get(callerOf(ctx), req.keyId)) };
    },

    async updateApiKey(req, ctx) {
      const key = await lifecycle.update(callerOf(ctx), req.keyId, {
        name: req.name,
        scopes: req.scopes,
        requestsPerMinute: req.rateLimit?.requestsPerMinute,
        enabled: req.enabled,
        remaining: req.remaining,
        refill: req.refill,
        expiresAt: req.expiresAt ? timestampDate(req.expiresAt) : undefined,
        ipAllowlist: req.ipAllowlist?.cidrs,
      });
      return { apiKey: shown(key) };
    },

    async regenerateApiKey(req, ctx) {
      const { key, secret } = await lifecycle.regenerate(callerOf(ctx), req.keyId, req.gracePeriodSeconds);
      return withSecret(key, secret, now());
    },

    async revokeApiKey(req, ctx) {
      return { apiKey: shown(await lifecycle.revoke(callerOf(ctx), req.keyId)) };
    },

    async verifyApiKey(req) {
      if (!req.key.trim()) throw invalid('key', 'is required');
      const v = await verifier.check(req.key.trim(), req.requiredScopes, req.ip || undefined);
      const r = v.record;
      if (!r || v.code === 'MALFORMED' || v.code === 'NOT_FOUND') return { valid: false, code: v.code };
      return {
        valid: v.code === 'VALID',
        code: v.code,
        keyId: r.id,
        ownerUserId: r.userId,
        organizationId: r.organizationId ?? '',
        clientOrganizationId: r.clientOrganizationId ?? '',
        scopes: v.scopes ?? [],
        metadata: r.metadata as JsonObject,
        expiresAt: ts(r.expiresAt === null ? null : new Date(r.expiresAt)),
        rateLimit: v.rateLimit ? { limit: v.rateLimit.limit, remaining: v.rateLimit.remaining, resetAt: ts(new Date(now().getTime() + v.rateLimit.resetSeconds * 1000)) } : undefined,
        remaining: v.remaining === undefined ? undefined : BigInt(v.remaining),
      };
    },

    async getApiKeyUsage(req, ctx) {
      const resolution = req.resolution === UsageResolution.MINUTE ? 'minute' : 'hour';
      const { buckets, totals } = await usageQuery.get(callerOf(ctx), {
        keyId: req.keyId,
        organizationId: req.organizationId,
        start: req.startTime ? timestampDate(req.startTime) : undefined,
        end: req.endTime ? timestampDate(req.endTime) : undefined,
        resolution,
      });
      return { buckets: buckets.map(toUsageBucket), totals: toUsageBucket(totals), resolution: resolution === 'minute' ? UsageResolution.MINUTE : UsageResolution.HOUR };
    },

    async reportLeakedApiKey(req, ctx) {
      await leaks.report(req.key, req.source, actorOf(ctx));
      return {};
    },
  };
}
