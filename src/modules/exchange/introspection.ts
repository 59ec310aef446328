// IntrospectToken (RFC 7662): what a JWT, an API key or a session token is, for internal services.
// A token that is unknown, expired, revoked, or whose key or user no longer stands is `{active:false}`
// with nothing else. Exchanged JWTs are checked against their key and both users' CURRENT roles, so a
// revoked key or a demotion shows here at once even though the JWT itself still verifies offline.
import type { Profiles } from '../account/profiles.js';
import { isWellFormedKey } from '../apikey/key-format.js';
import type { KeyVerifier } from '../apikey/verifier.js';
import { DomainError, invalid } from '../common/errors.js';
import { isUlid } from '../common/ids.js';
import type { OrgService } from '../org/org.service.js';
import { capScopes } from '../org/roles.js';
import type { SessionService } from '../session/session.service.js';
import { type AccessTokens, looksLikeJwt } from '../token/index.js';

type TokenType = 'access_token' | 'api_key' | 'session';
const HINTS = ['', 'access_token', 'api_key', 'session'];
const MAX_TOKEN_CHARS = 8192;

export interface Introspection {
  active: boolean;
  tokenType?: TokenType;
  sub?: string;
  username?: string;
  /** Effective scopes; undefined = the user's full rights (sessions, sign-in tokens). */
  scopes?: string[];
  clientId?: string;
  /** Seconds since the epoch; undefined = never expires. */
  exp?: number;
  iat?: number;
  iss?: string;
  jti?: string;
  sid?: string;
  orgId?: string;
  act?: { sub: string; client_id: string };
}

const INACTIVE: Introspection = { active: false };
const seconds = (ms: number) => Math.floor(ms / 1000);

/** Creation time of a ULID-keyed record (the first 10 characters are milliseconds). */
function ulidTime(prefixedId: string): number | undefined {
  const id = prefixedId.replace(/^[a-z]+_/, ''); // key ids are ak_<ULID>
  if (!isUlid(id)) return undefined;
  let t = 0;
  for (const c of id.slice(0, 10)) t = t * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(c);
  return seconds(t);
}

export interface IntrospectionOptions {
  keys: KeyVerifier;
  tokens: AccessTokens;
  sessions: SessionService;
  orgs: OrgService;
  profiles: Profiles;
  issuer: () => string;
  /** OAuth access tokens (the OAuth provider's JWTs), described by the OAuth module. */
  oauth?: { recognises(token: string): boolean; introspect(token: string): Promise<Introspection> };
}

export class TokenIntrospection {
  constructor(private readonly o: IntrospectionOptions) {}

  static hint(raw: string): void {
    if (!HINTS.includes(raw.trim())) throw invalid('token_type_hint', 'must be "access_token", "api_key" or "session"');
  }

  async introspect(token: string): Promise<Introspection> {
    const t = token.trim();
    if (!t || t.length > MAX_TOKEN_CHARS) return INACTIVE;
    if (this.o.oauth?.recognises(t)) return this.o.oauth.introspect(t);
    if (looksLikeJwt(t)) return this.accessToken(t);
    if (isWellFormedKey(t)) return this.apiKey(t);
    return this.session(t);
  }

  private async user(userId: string): Promise<string | undefined> {
    try {
      const { user } = await this.o.profiles.get(userId);
      return user.isActive ? user.email : undefined;
    } catch (e) {
      if (e instanceof DomainError) return undefined;
      throw e;
    }
  }

  private async accessToken(token: string): Promise<Introspection> {
    let t;
    try {
      t = await this.o.tokens.verify(token);
    } catch (e) {
      if (e instanceof DomainError) return INACTIVE;
      throw e;
    }
    if (t.sessionId && !(await this.o.sessions.isLive(t.sessionId))) return INACTIVE;
    let scopes = t.scopes;
    if (t.actor) {
      // Issued from a key: the key must still be usable, and both users still in the organization.
      const k = await this.o.keys.inspectById(t.actor.keyId);
      if (k.code !== 'VALID') return INACTIVE;
      if (t.organizationId) {
        const [creator, target] = await Promise.all([this.o.orgs.accessOf(t.actor.userId, t.organizationId), this.o.orgs.accessOf(t.userId, t.organizationId)]);
        if (!creator || !target) return INACTIVE;
        scopes = capScopes(t.scopes ?? [], creator.role, target.role);
      }
    }
    const username = await this.user(t.userId);
    if (username === undefined) return INACTIVE;
    return {
      active: true,
      tokenType: 'access_token',
      sub: t.userId,
      username,
      scopes,
      clientId: t.actor?.keyId,
      exp: seconds(t.expiresAt.getTime()),
      iat: seconds(t.issuedAt.getTime()),
      iss: this.o.issuer(),
      jti: t.tokenId,
      sid: t.sessionId,
      orgId: t.organizationId,
      act: t.actor ? { sub: t.actor.userId, client_id: t.actor.keyId } : undefined,
    };
  }

  private async apiKey(key: string): Promise<Introspection> {
    const v = await this.o.keys.inspect(key);
    if (v.code !== 'VALID' || !v.record) return INACTIVE;
    const r = v.record;
    const username = await this.user(r.userId);
    if (username === undefined) return INACTIVE;
    return {
      active: true,
      tokenType: 'api_key',
      sub: r.userId,
      username,
      scopes: v.scopes,
      clientId: r.id,
      exp: r.expiresAt === null ? undefined : seconds(r.expiresAt),
      iat: ulidTime(r.id),
      iss: this.o.issuer(),
      jti: r.id,
      orgId: r.clientOrganizationId ?? r.pinnedOrganizationId ?? r.organizationId ?? undefined,
    };
  }

  private async session(token: string): Promise<Introspection> {
    const s = await this.o.sessions.authenticate(token);
    if (!s) return INACTIVE;
    const username = await this.user(s.userId);
    if (username === undefined) return INACTIVE;
    return {
      active: true,
      tokenType: 'session',
      sub: s.userId,
      username,
      exp: seconds(s.expiresAt),
      iat: ulidTime(s.sessionId),
      iss: this.o.issuer(),
      jti: s.sessionId,
      sid: s.sessionId,
    };
  }
}
