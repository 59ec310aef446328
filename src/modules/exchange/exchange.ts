// SignInWithApiKey (seed 004): an API key is exchanged for a short-lived JWT of a user of the
// organization. The key is verified on the API-key hot path (memory when warm); the roles come from
// the cached tenant roles; the only database write is the audit event of the exchange.
//
// A token issued here keeps working until it expires even if its key is revoked (it is verified
// offline); hence the short default lifetime. IntrospectToken reports the key's revocation at once.
import type { EntityManager } from '@mikro-orm/postgresql';
import { type KeyVerifier, keyPrincipal } from '../apikey/verifier.js';
import type { AuditLog } from '../audit/audit.service.js';
import { DomainError, forbidden, invalid, notFound, RateLimitedError, unauthorized } from '../common/errors.js';
import { isUlid } from '../common/ids.js';
import type { Principal } from '../common/principal.js';
import type { OrgService } from '../org/org.service.js';
import { capScopes, roleRank } from '../org/roles.js';
import { consume, type RateLimiter } from '../ratelimit/index.js';
import type { AccessTokens, IssuedAccessToken } from '../token/index.js';
import { OrgRefs } from './org-refs.js';

export interface ExchangeRequest {
  /** Path parameter: organization id or slug. */
  organization: string;
  /** Headers x-api-key, x-api-key-id, x-user-id. */
  apiKey?: string;
  apiKeyId?: string;
  userId?: string;
  client: { ip: string; userAgent: string };
}

export interface ExchangeOptions {
  em: EntityManager;
  keys: KeyVerifier;
  /** Where a key may act (pins, partner portfolios): the API-key module's reach check. */
  reach: { assertReach(p: Principal, organizationId: string): Promise<void> };
  orgs: OrgService;
  refs: OrgRefs;
  limiter: RateLimiter;
  tokens: AccessTokens;
  /** False for an unknown or suspended user (cached profiles: no query when warm). */
  isActiveUser: (userId: string) => Promise<boolean>;
  audit: AuditLog;
  ttlSeconds: number;
  perMinute: number;
}

// One message for every credential failure, as the contract says: nothing to tell a wrong key from a wrong user.
const BAD = 'Invalid API key, key id or user';

export class TokenExchange {
  constructor(private readonly o: ExchangeOptions) {}

  async exchange(req: ExchangeRequest): Promise<IssuedAccessToken> {
    const ref = OrgRefs.parse(req.organization);
    const userId = req.userId?.trim() ?? '';
    if (!userId) throw invalid('x-user-id', 'header is required');
    if (!isUlid(userId)) throw invalid('x-user-id', 'must be a user id');
    const apiKey = req.apiKey?.trim();
    if (!apiKey) throw unauthorized('Missing x-api-key header', 'CREDENTIAL_MISSING');

    // The key's own checks and limits (counts one use), then the exchange's 5 per minute.
    const v = await this.o.keys.check(apiKey, [], req.client.ip);
    if (v.code === 'FORBIDDEN') throw forbidden(v.message, 'IP_NOT_ALLOWED');
    if (v.code === 'RATE_LIMITED') throw new RateLimitedError(v.rateLimit!.limit, v.rateLimit!.remaining, v.rateLimit!.resetSeconds, 'API key rate limit exceeded');
    if (v.code !== 'VALID' || !v.record || v.record.id !== req.apiKeyId?.trim()) throw unauthorized(BAD);
    const key = v.record;
    // The contract exchanges an organization API key; a personal token already acts as its owner in
    // each of their organizations, and an exchange would only turn it into a longer-reaching bearer.
    if (!key.organizationId) throw forbidden('Personal access tokens cannot be exchanged: use an API key of the organization');
    await consume(this.o.limiter, `exchange:${key.id}`, this.o.perMinute, 60, `At most ${this.o.perMinute} sign-ins per minute with one API key`);

    const organizationId = await this.o.refs.resolve(ref);
    if (!organizationId) throw notFound('Organization');
    const asKey = keyPrincipal(key, v.scopes!);
    try {
      await this.o.reach.assertReach(asKey, organizationId);
    } catch (e) {
      if (e instanceof DomainError && e.code === 'FORBIDDEN') throw unauthorized(BAD); // a key of another organization
      throw e;
    }
    const [creator, target, active] = await Promise.all([this.o.orgs.accessOf(key.userId, organizationId), this.o.orgs.accessOf(userId, organizationId), this.o.isActiveUser(userId)]);
    if (!creator || !target || !active) throw unauthorized(BAD);

    const impersonating = userId !== key.userId;
    const keyScopes = capScopes(v.scopes!, creator.role);
    if (impersonating) {
      if (!keyScopes.includes('impersonate')) throw forbidden('API key lacks scope impersonate', 'SCOPE_MISSING');
      if (roleRank(target.role) > roleRank(creator.role)) throw forbidden("API keys cannot impersonate users with a role above the key creator's", 'ROLE_ABOVE_CALLER');
    }
    const scopes = capScopes(keyScopes, target.role);
    const issued = await this.o.tokens.issue({ userId, organizationId, scopes, actor: { keyId: key.id, userId: key.userId } }, this.o.ttlSeconds);

    this.o.audit.record(this.o.em, {
      organizationId,
      type: impersonating ? 'token.impersonated' : 'token.exchanged',
      actorType: 'api_key',
      actorId: key.id,
      ip: req.client.ip,
      userAgent: req.client.userAgent,
      targetType: 'user',
      targetId: userId,
      metadata: { keyId: key.id, creatorUserId: key.userId, impersonation: impersonating, scopes, tokenId: issued.tokenId, expiresAt: issued.expiresAt.toISOString() },
    });
    await this.o.em.flush();
    return issued;
  }
}
