// The internal-service client: verify the credential of an incoming request against Latchkey.
// JWTs are verified offline with the JWKS (fetched once over the generated TokenService stub, refreshed
// when a token names an unknown key id, at most once per `jwksMinRefreshSeconds`); API keys go to
// VerifyApiKey, with a short local cache (the server's one Cache primitive: LRU, concurrent misses for
// one key share one call). Server modules are not used otherwise: only the stubs.
//
// Offline verification cannot see revocations: a JWT stays valid here until it expires (a few
// minutes). Ask IntrospectToken when a decision must reflect a revocation at once.
import { createHash } from 'node:crypto';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { type Client, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { TokenService } from '../../gen/latchkey/v1/token_pb.js';
import { Cache, localCacheContext } from '../modules/common/cache.js';
import { type Clock, systemClock } from '../modules/common/clock.js';

export interface LatchkeyVerifierOptions {
  /** Latchkey's base URL, e.g. http://latchkey.internal:8080. */
  baseUrl: string;
  /** Protocol to Latchkey (default grpc; connect = Connect over HTTP/1.1). */
  transport?: 'grpc' | 'connect';
  /** An API key with the `introspect` scope: the service's own credential for VerifyApiKey. */
  credential: string;
  /** Expected `iss` of access tokens: Latchkey's PUBLIC_URL (default: baseUrl). */
  issuer?: string;
  /** How long a VerifyApiKey answer is reused (default 10 s; 0 = never). */
  keyCacheSeconds?: number;
  /** Least time between two JWKS fetches caused by unknown key ids (default 30 s). */
  jwksMinRefreshSeconds?: number;
  /** Allowed clock skew for exp / nbf (default 5 s). */
  clockToleranceSeconds?: number;
  /** Time source of the key cache and key expiry (default: the system clock); tests pass one they can move. */
  clock?: Clock;
}

export type VerifiedPrincipal =
  | {
      kind: 'jwt';
      userId: string;
      tokenId: string;
      expiresAt: Date;
      /** Session the token was issued in (sign-in tokens). */
      sessionId?: string;
      /** Exchanged tokens (SignInWithApiKey): the organization and scopes they are bound to. */
      organizationId?: string;
      scopes?: string[];
      /** RFC 8693 actor: the API key that obtained the token and the key's creator. */
      actor?: { keyId: string; userId: string };
    }
  | {
      kind: 'apiKey';
      userId: string;
      keyId: string;
      /** Effective scopes (the key's scopes within its creator's current role). */
      scopes: string[];
      organizationId?: string;
      clientOrganizationId?: string;
      expiresAt?: Date;
    };

/** A credential that does not verify; `status` is the HTTP status a service should answer. */
export class LatchkeyAuthError extends Error {
  readonly status = 401;
  constructor(
    message: string,
    /** MISSING, UNRECOGNISED, EXPIRED, INVALID, or VerifyApiKey's code (REVOKED, RATE_LIMITED, …). */
    readonly code: string,
  ) {
    super(message);
    this.name = 'LatchkeyAuthError';
  }
}

export interface LatchkeyVerifier {
  /** `Authorization` header value ("Bearer …") or a bare JWT / API key. Throws LatchkeyAuthError. */
  verify(authorizationHeaderOrKey: string | null | undefined): Promise<VerifiedPrincipal>;
  /** Counters, for tests and metrics. */
  stats(): { jwksFetches: number; keyVerifications: number };
}

const JWT_RE = /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/;
const KEY_RE = /^[a-z][a-z0-9]{0,15}(_[a-z0-9]{1,16})?_[0-9A-Za-z]{49}$/;
const MAX_KEYS_CACHED = 10_000;

type KeyAnswer = { ok: true; principal: VerifiedPrincipal } | { ok: false; error: LatchkeyAuthError };

export function createLatchkeyVerifier(o: LatchkeyVerifierOptions): LatchkeyVerifier {
  const baseUrl = o.baseUrl.replace(/\/+$/, '');
  const transport: Transport = o.transport === 'connect' ? createConnectTransport({ baseUrl, httpVersion: '1.1' }) : createGrpcTransport({ baseUrl });
  const tokens: Client<typeof TokenService> = createClient(TokenService, transport);
  const keys: Client<typeof ApiKeyService> = createClient(ApiKeyService, transport);
  const issuer = o.issuer ?? baseUrl;
  const keyTtlMs = (o.keyCacheSeconds ?? 10) * 1000;
  const minRefreshMs = (o.jwksMinRefreshSeconds ?? 30) * 1000;
  const tolerance = o.clockToleranceSeconds ?? 5;
  const counters = { jwksFetches: 0, keyVerifications: 0 };

  let jwks: JWTVerifyGetKey | undefined;
  let fetching: Promise<JWTVerifyGetKey> | undefined;
  let lastFetch = 0;
  const clock = o.clock ?? systemClock;
  // A rate-limit answer is about this moment only; everything else may be reused briefly.
  const keyCache = new Cache<KeyAnswer>(localCacheContext(clock), {
    max: MAX_KEYS_CACHED,
    ttlMs: Math.max(keyTtlMs, 1),
    ttlOf: (a) => (!a.ok && a.error.code === 'RATE_LIMITED' ? 0 : keyTtlMs),
  });

  function fetchJwks(): Promise<JWTVerifyGetKey> {
    fetching ??= (async () => {
      try {
        counters.jwksFetches++;
        lastFetch = Date.now();
        const res = await tokens.getJwks({});
        const set: JSONWebKeySet = { keys: res.keys.map((k) => ({ kty: k.kty, crv: k.crv, x: k.x, kid: k.kid, alg: k.alg, use: k.use })) };
        jwks = createLocalJWKSet(set);
        return jwks;
      } finally {
        fetching = undefined;
      }
    })();
    return fetching;
  }

  async function verifyJwt(token: string): Promise<VerifiedPrincipal> {
    const opts = { algorithms: ['EdDSA'], issuer, audience: 'latchkey', typ: 'at+jwt', clockTolerance: tolerance, requiredClaims: ['sub', 'jti', 'exp'] };
    let payload: JWTPayload;
    try {
      try {
        ({ payload } = await jwtVerify(token, jwks ?? (await fetchJwks()), opts));
      } catch (e) {
        // A key rotated since the last fetch: refresh, but not more often than minRefreshMs.
        if (!(e instanceof errors.JWKSNoMatchingKey) || Date.now() - lastFetch < minRefreshMs) throw e;
        ({ payload } = await jwtVerify(token, await fetchJwks(), opts));
      }
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new LatchkeyAuthError('Access token expired', 'EXPIRED');
      if (e instanceof errors.JOSEError) throw new LatchkeyAuthError('Invalid access token', 'INVALID');
      throw e;
    }
    const act = payload.act as { sub?: unknown; client_id?: unknown } | undefined;
    return {
      kind: 'jwt',
      userId: payload.sub!,
      tokenId: payload.jti!,
      expiresAt: new Date(payload.exp! * 1000),
      sessionId: typeof payload.sid === 'string' ? payload.sid : undefined,
      organizationId: typeof payload.org_id === 'string' ? payload.org_id : undefined,
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : undefined,
      actor: act && typeof act.sub === 'string' && typeof act.client_id === 'string' ? { userId: act.sub, keyId: act.client_id } : undefined,
    };
  }

  async function askLatchkey(key: string): Promise<KeyAnswer> {
    counters.keyVerifications++;
    let res;
    try {
      res = await keys.verifyApiKey({ key }, { headers: { 'x-api-key': o.credential } });
    } catch (e) {
      // Our own credential is refused, or Latchkey is unreachable: not the caller's fault, never cached.
      throw ConnectError.from(e);
    }
    if (!res.valid)
      return { ok: false, error: new LatchkeyAuthError(res.code === 'EXPIRED' ? 'API key expired' : res.code === 'REVOKED' ? 'API key revoked' : 'Invalid API key', res.code || 'INVALID') };
    return {
      ok: true,
      principal: {
        kind: 'apiKey',
        userId: res.ownerUserId,
        keyId: res.keyId,
        scopes: res.scopes,
        organizationId: res.organizationId || undefined,
        clientOrganizationId: res.clientOrganizationId || undefined,
        expiresAt: res.expiresAt ? timestampDate(res.expiresAt) : undefined,
      },
    };
  }

  async function verifyKey(key: string): Promise<VerifiedPrincipal> {
    const id = createHash('sha256').update(key).digest('base64url');
    const answer = await keyCache.get(id, () => askLatchkey(key));
    if (!answer.ok) throw answer.error;
    const p = answer.principal;
    if (p.kind === 'apiKey' && p.expiresAt && p.expiresAt.getTime() <= clock.now().getTime()) throw new LatchkeyAuthError('API key expired', 'EXPIRED');
    return p;
  }

  return {
    async verify(input) {
      const raw = (input ?? '').trim();
      if (!raw) throw new LatchkeyAuthError('Missing Authorization header', 'MISSING');
      const m = /^Bearer\s+(\S+)$/i.exec(raw);
      const credential = m ? m[1] : raw;
      if (JWT_RE.test(credential)) return verifyJwt(credential);
      if (KEY_RE.test(credential)) return verifyKey(credential);
      throw new LatchkeyAuthError('Unrecognised bearer credential', 'UNRECOGNISED');
    },
    stats: () => ({ ...counters }),
  };
}
