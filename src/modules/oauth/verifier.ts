// Authorization: Bearer <OAuth access token>: the provider's JWT access tokens (RFC 9068) for
// Latchkey's own API (audience = PUBLIC_URL), verified offline with the signing-key store. A
// token's grant (user tokens) or client (machine tokens) must still stand, and a token revoked at
// the revocation endpoint is refused; each of those is cached, so a warm token costs no database read.
import { errors, type JWTPayload, jwtVerify } from 'jose';
import type { Invalidation, OAuthInvalidation } from '../common/bus.js';
import { Cache, type CacheContext } from '../common/cache.js';
import type { Clock } from '../common/clock.js';
import { DomainError, unauthorized } from '../common/errors.js';
import type { Principal } from '../common/principal.js';
import { sha256 } from '../common/secrets.js';
import type { Introspection } from '../exchange/introspection.js';
import type { BearerVerifier } from '../session/credentials.js';
import { ALG, type SigningKeys } from '../token/signing-keys.js';
import type { OAuthStore } from './adapter.js';

const VERIFIED_CACHE_MS = 60_000;
const STATE_CACHE_MS = 30_000;

export interface OAuthAccessToken {
  jti: string;
  clientId: string;
  /** The user it acts for; for client_credentials tokens, the client's creator. */
  userId: string;
  /** Set on client_credentials tokens: the client's organization. */
  organizationId?: string;
  scopes: string[];
  machine: boolean;
  issuedAt: number;
  expiresAt: number;
  grantId?: string;
}

interface ClientState {
  organizationId?: string;
  createdBy?: string;
}

/** A JWT whose payload names a `client_id`: an OAuth access token, not one Latchkey's sign-in issued. */
export function isOAuthJwt(token: string): boolean {
  if (!/^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(token)) return false;
  const mid = token.slice(token.indexOf('.') + 1, token.lastIndexOf('.'));
  if (mid.length > 8192) return false;
  try {
    const p = JSON.parse(Buffer.from(mid, 'base64url').toString('utf8'));
    return typeof p?.client_id === 'string';
  } catch {
    return false;
  }
}

const ID_RE = /^[A-Za-z0-9_.:-]{1,255}$/;
const SCOPE_RE = /^[\x21-\x7e]{0,64}( [\x21-\x7e]{1,64})*$/;

export class OAuthTokenVerifier implements BearerVerifier {
  private readonly verified: Cache<OAuthAccessToken>;
  private readonly grants: Cache<boolean>;
  private readonly clients: Cache<ClientState | null>;
  private readonly revoked: Cache<boolean>;

  constructor(
    private readonly keys: SigningKeys,
    private readonly store: OAuthStore,
    private readonly clock: Clock,
    private readonly issuer: () => string,
    caches: CacheContext,
    /** Puts an invalidation on the bus for the other replicas. */
    private readonly publish?: (inv: Invalidation) => void,
  ) {
    this.verified = new Cache(caches, { max: 50_000, ttlMs: VERIFIED_CACHE_MS, ttlOf: (v) => v.expiresAt * 1000 - this.clock.now().getTime() });
    this.grants = new Cache(caches, { max: 50_000, ttlMs: STATE_CACHE_MS });
    this.clients = new Cache(caches, { max: 10_000, ttlMs: STATE_CACHE_MS });
    this.revoked = new Cache(caches, { max: 50_000, ttlMs: STATE_CACHE_MS });
  }

  recognises(credential: string): boolean {
    return isOAuthJwt(credential);
  }

  async verify(credential: string): Promise<Principal> {
    const t = await this.check(credential);
    return { kind: 'jwt', userId: t.userId, organizationId: t.organizationId, scopes: t.scopes, actor: { keyId: t.clientId, userId: t.userId }, tokenId: t.jti };
  }

  /** The token's claims when it is valid and still stands; 401 otherwise. */
  async check(token: string): Promise<OAuthAccessToken> {
    const t = await this.verified.get(sha256(token), () => this.verifySignature(token));
    if (t.expiresAt * 1000 <= this.clock.now().getTime()) throw unauthorized('Access token expired', 'ACCESS_TOKEN_EXPIRED');
    if (await this.revoked.get(t.jti, (jti) => this.store.find('RevokedAccessToken', 'id', jti).then((r) => !!r))) throw unauthorized('Access token revoked', 'ACCESS_TOKEN_INVALID');
    if (t.grantId && !(await this.grants.get(t.grantId, (id) => this.store.find('Grant', 'id', id).then((g) => !!g)))) throw unauthorized('Access token revoked', 'ACCESS_TOKEN_INVALID');
    const c = await this.client(t.clientId);
    if (!c) throw unauthorized('OAuth client no longer exists', 'ACCESS_TOKEN_INVALID');
    if (t.machine) {
      if (!c.createdBy || !c.organizationId || c.organizationId !== t.organizationId) throw unauthorized('OAuth client no longer exists', 'ACCESS_TOKEN_INVALID');
      return { ...t, userId: c.createdBy };
    }
    return t;
  }

  /** IntrospectToken's view (RFC 7662 shape); inactive when it does not verify or no longer stands. */
  async introspect(token: string): Promise<Introspection> {
    let t: OAuthAccessToken;
    try {
      t = await this.check(token);
    } catch (e) {
      if (e instanceof DomainError) return { active: false };
      throw e;
    }
    return {
      active: true,
      tokenType: 'access_token',
      sub: t.machine ? t.clientId : t.userId,
      scopes: t.scopes,
      clientId: t.clientId,
      exp: t.expiresAt,
      iat: t.issuedAt,
      iss: this.issuer(),
      jti: t.jti,
      orgId: t.organizationId,
    };
  }

  /** RFC 7009 for a JWT access token: remembered as revoked until it would have expired. */
  async revoke(t: OAuthAccessToken): Promise<void> {
    const ttl = t.expiresAt - Math.floor(this.clock.now().getTime() / 1000);
    if (ttl > 0) await this.store.upsert('RevokedAccessToken', t.jti, { jti: t.jti }, ttl);
    this.forget({ jti: t.jti });
  }

  /**
   * Forget what is known of a grant, a client or a token (revoked, deleted) so the next request sees
   * it, here and, through the invalidation bus, on every other replica.
   */
  forget(what: OAuthInvalidation): void {
    // The bus applies it here too.
    if (this.publish) this.publish({ oauth: what });
    else this.apply({ oauth: what });
  }

  /** An invalidation from this replica or another (from the bus: not published again). */
  apply(inv: Invalidation): void {
    if ('all' in inv) {
      this.grants.clear();
      this.clients.clear();
      this.revoked.clear();
    } else if ('oauth' in inv) {
      const what = inv.oauth;
      if (what.grantId) this.grants.delete(what.grantId);
      if (what.clientId) this.clients.delete(what.clientId);
      if (what.jti) this.revoked.delete(what.jti);
    }
  }

  private client(clientId: string): Promise<ClientState | null> {
    return Promise.resolve(
      this.clients.get(clientId, async (id) => {
        const c = await this.store.find('Client', 'id', id);
        return c ? { organizationId: c.organization_id as string | undefined, createdBy: c.created_by as string | undefined } : null;
      }),
    );
  }

  private async verifySignature(token: string): Promise<OAuthAccessToken> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = header.kid ? await this.keys.verificationKey(header.kid) : undefined;
          if (!key) throw new errors.JWKSNoMatchingKey();
          return key;
        },
        { algorithms: [ALG], issuer: this.issuer(), audience: this.issuer(), typ: 'at+jwt', currentDate: this.clock.now(), requiredClaims: ['sub', 'jti', 'iat', 'exp', 'client_id'] },
      ));
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw unauthorized('Access token expired', 'ACCESS_TOKEN_EXPIRED');
      if (e instanceof errors.JOSEError) throw unauthorized('Invalid access token', 'ACCESS_TOKEN_INVALID');
      throw e;
    }
    const { sub, jti, client_id: clientId, org_id: org, gid, scope } = payload as JWTPayload & Record<string, unknown>;
    const ok = (v: unknown) => typeof v === 'string' && ID_RE.test(v);
    if (!ok(sub) || !ok(jti) || !ok(clientId) || (org !== undefined && !ok(org)) || (gid !== undefined && !ok(gid)) || (scope !== undefined && (typeof scope !== 'string' || !SCOPE_RE.test(scope)))) {
      throw unauthorized('Invalid access token', 'ACCESS_TOKEN_INVALID');
    }
    const machine = sub === clientId;
    return {
      jti: jti as string,
      clientId: clientId as string,
      userId: sub as string,
      organizationId: org as string | undefined,
      scopes: typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [],
      machine,
      issuedAt: payload.iat!,
      expiresAt: payload.exp!,
      grantId: machine ? undefined : (gid as string | undefined),
    };
  }
}
