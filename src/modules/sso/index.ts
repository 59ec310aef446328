// The SSO module, wired: connections and domains, the OIDC relying party, the SAML service
// provider, and the sign-in (JIT provisioning) they both end in.

import type { EntityManager } from '@mikro-orm/postgresql';
import type { AccountService } from '../account/account.service.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { InvalidationBus } from '../common/bus.js';
import type { CacheContext } from '../common/cache.js';
import type { Clock } from '../common/clock.js';
import { deriveKey, open, seal } from '../common/sealing.js';
import type { OrgService } from '../org/org.service.js';
import type { SessionService } from '../session/session.service.js';
import { type Route, SsoConnections } from './connections.js';
import { dnsResolver, type TxtResolver } from './dns.js';
import { OidcRelyingParty, type PendingOidc } from './oidc.js';
import { SamlServiceProvider } from './saml.js';
import { SsoSignIn } from './sign-in.js';

export type { ConnectionView } from './connections.js';
export { challengeName } from './dns.js';
export type { SsoDomain } from './sso.entity.js';

export interface SsoOptions {
  em: EntityManager;
  clock: Clock;
  audit: AuditLog;
  accounts: AccountService;
  sessions: SessionService;
  orgs: OrgService;
  secret: string;
  publicUrl: () => string;
  dnsServers: string[];
  clockSkewSeconds: number;
  allowInsecureIdp: boolean;
  endCredentials: (userId: string) => Promise<void>;
  caches: CacheContext;
  bus: InvalidationBus;
  /** Tests may resolve TXT records their own way; default: node:dns through DNS_SERVERS. */
  resolver?: TxtResolver;
}

export interface Sso {
  connections: SsoConnections;
  oidc: OidcRelyingParty;
  saml: SamlServiceProvider;
  signIn: SsoSignIn;
  /** Where a browser starts signing in for a routed email. */
  signInUrl(r: Route, email?: string): string;
  /** The start URL of a connection. */
  startUrl(connectionId: string): string;
  oidcRedirectUri(): string;
  /** The OIDC pending state, sealed for its cookie (and opened; undefined when forged or garbled). */
  sealPending(p: PendingOidc): string;
  openPending(sealed: string): PendingOidc | undefined;
}

export function createSso(o: SsoOptions): Sso {
  const sealKey = deriveKey(o.secret, 'sso-secrets');
  const stateKey = deriveKey(o.secret, 'sso-state');
  const connections = new SsoConnections({
    em: o.em,
    audit: o.audit,
    clock: o.clock,
    resolver: o.resolver ?? dnsResolver(o.dnsServers),
    sealKey,
    allowInsecureIdp: o.allowInsecureIdp,
    caches: o.caches,
    invalidate: (inv) => o.bus.invalidate(inv),
  });
  o.bus.subscribe((inv) => connections.apply(inv));
  const oidcRedirectUri = () => `${o.publicUrl()}/api/sso/oidc/callback`;
  const oidc = new OidcRelyingParty({
    clock: o.clock,
    redirectUri: oidcRedirectUri,
    clockSkewSeconds: o.clockSkewSeconds,
    allowInsecure: o.allowInsecureIdp,
    clientSecretOf: (c) => connections.clientSecretOf(c),
  });
  const saml = new SamlServiceProvider({ em: o.em, clock: o.clock, publicUrl: o.publicUrl, clockSkewSeconds: o.clockSkewSeconds });
  const signIn = new SsoSignIn({ em: o.em, accounts: o.accounts, sessions: o.sessions, orgs: o.orgs, audit: o.audit, connections, endCredentials: o.endCredentials });
  const startUrl = (id: string) => `${o.publicUrl()}/api/sso/${id}/start`;
  return {
    connections,
    oidc,
    saml,
    signIn,
    startUrl,
    signInUrl: (r, email) => startUrl(r.connection.id) + (email ? `?login_hint=${encodeURIComponent(email)}` : ''),
    oidcRedirectUri,
    sealPending: (p) => seal(stateKey, JSON.stringify(p), 'sso-oidc-pending'),
    openPending(sealed) {
      try {
        const p = JSON.parse(open(stateKey, sealed, 'sso-oidc-pending')) as PendingOidc;
        return typeof p?.state === 'string' && typeof p.connectionId === 'string' ? p : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
