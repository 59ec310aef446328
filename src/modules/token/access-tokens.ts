// Access tokens: EdDSA (Ed25519) JWTs, verified offline against the in-memory public keys. Only
// EdDSA is accepted, and exp, nbf, iss and aud are always checked.
import { errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { Cache, localCacheContext } from '../common/cache.js';
import type { Clock } from '../common/clock.js';
import { unauthorized } from '../common/errors.js';
import { ulid } from '../common/ids.js';
import { sha256 } from '../common/secrets.js';
import { ALG, type SigningKeys } from './signing-keys.js';

export const AUDIENCE = 'latchkey';
const TYP = 'at+jwt'; // RFC 9068
// A client sends the same token many times: its verified claims are kept briefly, so the
// signature check (~0.5 ms of WebCrypto) runs once per token per minute, not once per request.
const VERIFIED_CACHE_MS = 60_000;

export interface AccessTokenClaims {
  userId: string;
  /** The session it was issued in (sign-in, refresh); absent for exchanged tokens. */
  sessionId?: string;
  /** Bound organization and narrowed scopes (tokens issued from an API key). */
  organizationId?: string;
  scopes?: string[];
  /** RFC 8693 actor: the API key and its creator, when issued for another user. */
  actor?: { keyId: string; userId: string };
}

export interface IssuedAccessToken {
  token: string;
  tokenId: string;
  expiresAt: Date;
}

export interface VerifiedAccessToken extends AccessTokenClaims {
  tokenId: string;
  issuedAt: Date;
  expiresAt: Date;
}

export class AccessTokens {
  /** Verified signatures only (a token cannot change): session state is checked elsewhere, so no bus. */
  private readonly verified: Cache<VerifiedAccessToken>;

  constructor(
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    /** PUBLIC_URL, read at each use (it is known only once the server listens). */
    private readonly issuer: () => string,
    private readonly ttlSeconds: number,
  ) {
    this.verified = new Cache(localCacheContext(clock), { max: 50_000, ttlMs: VERIFIED_CACHE_MS, ttlOf: (v) => v.expiresAt.getTime() - this.clock.now().getTime() });
  }

  async issue(c: AccessTokenClaims, ttlSeconds = this.ttlSeconds): Promise<IssuedAccessToken> {
    const { kid, privateKey } = await this.keys.signer();
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const exp = iat + ttlSeconds;
    const tokenId = ulid();
    const payload: JWTPayload = {};
    if (c.sessionId) payload.sid = c.sessionId;
    if (c.organizationId) payload.org_id = c.organizationId;
    if (c.scopes) payload.scope = c.scopes.join(' ');
    if (c.actor) payload.act = { sub: c.actor.userId, client_id: c.actor.keyId };
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: ALG, kid, typ: TYP })
      .setSubject(c.userId)
      .setIssuer(this.issuer())
      .setAudience(AUDIENCE)
      .setJti(tokenId)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .sign(privateKey);
    return { token, tokenId, expiresAt: new Date(exp * 1000) };
  }

  /** The claims of a valid token; 401 with a message saying what is wrong otherwise. */
  async verify(token: string): Promise<VerifiedAccessToken> {
    // Concurrent requests with one new token share one signature check.
    const v = await this.verified.get(sha256(token), () => this.verifySignature(token));
    if (v.expiresAt.getTime() <= this.clock.now().getTime()) throw unauthorized('Access token expired', 'ACCESS_TOKEN_EXPIRED');
    return v;
  }

  private async verifySignature(token: string): Promise<VerifiedAccessToken> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = header.kid ? await this.keys.verificationKey(header.kid) : undefined;
          if (!key) throw new errors.JWKSNoMatchingKey();
          return key;
        },
        { algorithms: [ALG], issuer: this.issuer(), audience: AUDIENCE, typ: TYP, currentDate: this.clock.now(), requiredClaims: ['sub', 'jti', 'iat', 'exp'] },
      ));
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw unauthorized('Access token expired', 'ACCESS_TOKEN_EXPIRED');
      if (e instanceof errors.JOSEError) throw unauthorized('Invalid access token', 'ACCESS_TOKEN_INVALID');
      throw e;
    }
    const act = payload.act as { sub?: unknown; client_id?: unknown } | undefined;
    // A validly signed token of a shape we never issue (wrong claim types, NUL, …) is refused here,
    // before any claim reaches a query.
    const optional = (v: unknown) => v === undefined || isClaimId(v);
    if (!isClaimId(payload.sub) || !isClaimId(payload.jti) || !optional(payload.sid) || !optional(payload.org_id)) throw unauthorized('Invalid access token', 'ACCESS_TOKEN_INVALID');
    if ((payload.scope !== undefined && (typeof payload.scope !== 'string' || !SCOPE_CLAIM_RE.test(payload.scope))) || (act !== undefined && (!isClaimId(act.sub) || !isClaimId(act.client_id)))) {
      throw unauthorized('Invalid access token', 'ACCESS_TOKEN_INVALID');
    }
    return {
      userId: payload.sub!,
      sessionId: typeof payload.sid === 'string' ? payload.sid : undefined,
      organizationId: typeof payload.org_id === 'string' ? payload.org_id : undefined,
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : undefined,
      actor: act && typeof act.sub === 'string' && typeof act.client_id === 'string' ? { userId: act.sub, keyId: act.client_id } : undefined,
      tokenId: payload.jti!,
      issuedAt: new Date(payload.iat! * 1000),
      expiresAt: new Date(payload.exp! * 1000),
    };
  }
}

/** Ids in claims are ULIDs or prefixed ULIDs (`ak_…`): never anything a query could choke on. */
const isClaimId = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v);
const SCOPE_CLAIM_RE = /^[\x21-\x7e]{0,64}( [\x21-\x7e]{1,64})*$/;

/** Cheap format check: three base64url segments, the header starting with `{"` (eyJ). */
export const looksLikeJwt = (s: string): boolean => /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(s);
