// Gateway assertions: a short EdDSA JWT that tells an upstream who is calling, signed with the keys
// published at /.well-known/jwks.json. Its own `typ` and audience keep it from passing as an access
// token (and an access token from passing as an assertion). A signed assertion is reused for half
// its lifetime, so a steady caller costs one signature per 30 s, not one per request.
import { type JWTPayload, SignJWT } from 'jose';
import type { Clock } from '../common/clock.js';
import { ALG, type SigningKeys } from './signing-keys.js';

const ASSERTION_TYP = 'latchkey-assertion+jwt';
/** Longest lifetime of an assertion (the bound). */
const MAX_ASSERTION_TTL_SECONDS = 60;
const MAX_CACHED = 50_000;

export interface AssertionClaims {
  userId: string;
  organizationId?: string;
  role?: string;
  /** Effective scopes of the call. */
  scopes: string[];
  /** The API key, for key-authenticated calls. */
  keyId?: string;
  /** RFC 8693 actor of an exchanged token: the key and its creator. */
  actor?: { userId: string; keyId: string };
  /** The policy route that allowed the call ("GET /customer"). */
  route: string;
}

export class Assertions {
  private readonly cache = new Map<string, { token: string; signedAt: number }>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    private readonly issuer: () => string,
    private readonly audience: string,
    private readonly ttlSeconds = MAX_ASSERTION_TTL_SECONDS,
  ) {
    if (ttlSeconds < 2 || ttlSeconds > MAX_ASSERTION_TTL_SECONDS) throw new Error(`assertion lifetime must be 2..${MAX_ASSERTION_TTL_SECONDS} s`);
  }

  async sign(c: AssertionClaims): Promise<string> {
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const { kid, privateKey } = await this.keys.signer();
    // The kid is part of the key: after a rotation nothing signed by the old key is handed out.
    const key = JSON.stringify([kid, c.userId, c.organizationId, c.role, c.scopes, c.keyId, c.actor?.userId, c.actor?.keyId, c.route]);
    const hit = this.cache.get(key);
    if (hit && now - hit.signedAt >= 0 && now - hit.signedAt < this.ttlSeconds / 2) return hit.token;
    const payload: JWTPayload = { scope: c.scopes.join(' '), route: c.route };
    if (c.organizationId) payload.org_id = c.organizationId;
    if (c.role) payload.role = c.role;
    if (c.keyId) payload.key_id = c.keyId;
    if (c.actor) payload.act = { sub: c.actor.userId, client_id: c.actor.keyId };
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: ALG, kid, typ: ASSERTION_TYP })
      .setSubject(c.userId)
      .setIssuer(this.issuer())
      .setAudience(this.audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + this.ttlSeconds)
      .sign(privateKey);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { token, signedAt: now });
    return token;
  }
}
