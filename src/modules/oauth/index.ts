// The OAuth 2.1 / OpenID Connect provider, wired: storage, provider, Bearer verifier, clients and grants.
import { RequestContext } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Profiles } from '../account/profiles.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { InvalidationBus } from '../common/bus.js';
import type { CacheContext } from '../common/cache.js';
import type { Clock } from '../common/clock.js';
import type { OrgService } from '../org/org.service.js';
import type { SigningKeys } from '../token/signing-keys.js';
import { OAuthStore } from './adapter.js';
import { type DownstreamScopes, OAuthService } from './oauth.service.js';
import { OAuthProvider, type RegistrationMode } from './provider.js';
import { OAuthTokenVerifier } from './verifier.js';

export interface OAuth {
  provider: OAuthProvider;
  verifier: OAuthTokenVerifier;
  service: OAuthService;
  close(): void;
}

// Expired codes, tokens, sessions and interactions are never read again: deleted now and then.
const SWEEP_EVERY_MS = 15 * 60_000;

export interface OAuthDeps {
  em: EntityManager;
  keys: SigningKeys;
  profiles: Profiles;
  orgs: OrgService;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  caches: CacheContext;
  /** The invalidation bus: revocations reach every replica's verifier. */
  bus: InvalidationBus;
  issuer: () => string;
  cookieKey: Buffer;
  registration: RegistrationMode;
  registrationToken?: string;
  resources: string[];
  /** GATEWAY_POLICY, when set: the downstream scopes its roles grant are OAuth scopes too. */
  downstream?: DownstreamScopes;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

export function createOAuth(d: OAuthDeps): OAuth {
  const store = new OAuthStore(d.em);
  const verifier = new OAuthTokenVerifier(d.keys, store, d.clock, d.issuer, d.caches, (inv) => d.bus.invalidate(inv));
  d.bus.subscribe((inv) => verifier.apply(inv));
  const provider = new OAuthProvider({
    store,
    keys: d.keys,
    log: d.log,
    issuer: d.issuer,
    cookieKey: d.cookieKey,
    registration: d.registration,
    registrationToken: d.registrationToken,
    resources: d.resources,
    downstreamScopes: d.downstream?.downstreamScopes() ?? [],
    accessTokenTtlSeconds: d.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: d.refreshTokenTtlSeconds,
    account: async (userId) => {
      if (!/^[0-9A-Z]{26}$/.test(userId)) return undefined;
      try {
        const { user } = await d.profiles.get(userId);
        return user.isActive ? { sub: user.id, email: user.email, email_verified: !!user.verifiedAt, name: user.fullName } : undefined;
      } catch {
        return undefined;
      }
    },
    verifier,
    inContext: (fn) => RequestContext.create(d.em, fn),
    clientOrganization: async (clientId) => (await store.find('Client', 'id', clientId))?.organization_id as string | undefined,
  });
  const service = new OAuthService({ em: d.em, store, provider, verifier, orgs: d.orgs, audit: d.audit, clock: d.clock, downstream: d.downstream });
  const sweep = setInterval(() => void store.sweep().catch((err) => d.log.warn({ err }, 'oauth sweep failed')), SWEEP_EVERY_MS);
  sweep.unref();
  return { provider, verifier, service, close: () => clearInterval(sweep) };
}
