// The hot path: checksum (no I/O), one SHA-256, a Map lookup, the per-key rate limit (in memory, or
// one Redis round trip with REDIS_URL). A cold key costs one database query; a key with a credit
// budget also costs one durable UPDATE per use (coalesced across concurrent uses: credits.ts).
// The IP allowlist is checked against the record's compiled list, and each verification of a known
// key is counted by outcome in memory (usage.ts writes the counts behind the request).
import type { Clock } from '../common/clock.js';
import { forbidden, RateLimitedError, type ReasonOf, unauthorized } from '../common/errors.js';
import type { Principal } from '../common/principal.js';
import { capScopes } from '../org/roles.js';
import type { RateLimiter, RateLimitResult } from '../ratelimit/index.js';
import type { BearerVerifier } from '../session/credentials.js';
import type { Credits } from './credits.js';
import { allows } from './ip-allowlist.js';
import type { KeyCache } from './key-cache.js';
import { hashKey, isWellFormedKey } from './key-format.js';
import type { KeyRecord } from './record.js';
import type { UsageRecorder } from './usage.js';

type VerifyCode = 'VALID' | 'MALFORMED' | 'NOT_FOUND' | 'EXPIRED' | 'REVOKED' | 'DISABLED' | 'RATE_LIMITED' | 'USAGE_EXCEEDED' | 'INSUFFICIENT_SCOPE' | 'FORBIDDEN';

/** The usage column (index into OUTCOMES) each outcome of a known key counts in. */
const OUTCOME: Record<VerifyCode, number> = {
  VALID: 0,
  RATE_LIMITED: 1,
  USAGE_EXCEEDED: 2,
  EXPIRED: 3,
  REVOKED: 4,
  DISABLED: 5,
  FORBIDDEN: 6,
  INSUFFICIENT_SCOPE: 6,
  MALFORMED: -1,
  NOT_FOUND: -1,
};

export interface Verification {
  code: VerifyCode;
  /** Human-readable reason (the 401 message). */
  message: string;
  record?: KeyRecord;
  /** Effective scopes: stored scopes expanded, Latchkey scopes limited by the owner's current role. */
  scopes?: string[];
  rateLimit?: RateLimitResult;
  /** Credits left after this use; undefined when unlimited. */
  remaining?: number;
}

/** The error reason of each refusal when the key authenticates a request. */
const REFUSAL_REASON: Record<Exclude<VerifyCode, 'VALID' | 'RATE_LIMITED' | 'FORBIDDEN'>, ReasonOf<'UNAUTHORIZED'>> = {
  MALFORMED: 'API_KEY_INVALID',
  NOT_FOUND: 'API_KEY_INVALID',
  EXPIRED: 'API_KEY_EXPIRED',
  REVOKED: 'API_KEY_REVOKED',
  DISABLED: 'API_KEY_DISABLED',
  USAGE_EXCEEDED: 'USAGE_EXCEEDED',
  INSUFFICIENT_SCOPE: 'API_KEY_INVALID',
};

const fail = (code: VerifyCode, message: string, record?: KeyRecord): Verification => ({ code, message, record });

/** Stored scopes ∩ the owner's role (downstream scopes such as projects:write pass through). */
function effectiveScopes(r: KeyRecord): string[] {
  return !r.organizationId || !r.ownerRole ? r.scopes : capScopes(r.scopes, r.ownerRole);
}

export class KeyVerifier implements BearerVerifier {
  private readonly effective = new WeakMap<KeyRecord, string[]>();

  constructor(
    private readonly cache: KeyCache,
    private readonly load: (hash: string) => Promise<KeyRecord | null>,
    private readonly limiter: RateLimiter,
    private readonly credits: Credits,
    private readonly usage: UsageRecorder,
    private readonly clock: Clock,
    private readonly loadById?: (id: string) => Promise<KeyRecord | null>,
  ) {}

  recognises(credential: string): boolean {
    return isWellFormedKey(credential);
  }

  async verify(credential: string, from?: { ip?: string }): Promise<Principal> {
    const v = await this.check(credential, [], from?.ip);
    if (v.code === 'RATE_LIMITED') throw new RateLimitedError(v.rateLimit!.limit, v.rateLimit!.remaining, v.rateLimit!.resetSeconds, 'API key rate limit exceeded');
    if (v.code === 'FORBIDDEN') throw forbidden(v.message, 'IP_NOT_ALLOWED');
    if (v.code !== 'VALID') throw unauthorized(v.message, REFUSAL_REASON[v.code]);
    return keyPrincipal(v.record!, v.scopes!);
  }

  /** A key's state without counting a use (no rate limit, no credits): for introspection. */
  async inspect(key: string): Promise<Verification> {
    if (!isWellFormedKey(key)) return fail('MALFORMED', 'Invalid API key');
    const hash = hashKey(key);
    const r = await this.cache.get(hash, () => this.load(hash));
    if (!r) return fail('NOT_FOUND', 'Invalid API key');
    return this.judge(r, hash, this.clock.now().getTime()) ?? { code: 'VALID', message: 'OK', record: r, scopes: this.scopesOf(r) };
  }

  /** The state of the key with this id (tokens issued from it); warm when the key was used recently. */
  async inspectById(keyId: string): Promise<Verification> {
    let r = this.cache.peekById(keyId);
    if (!r && this.loadById) {
      const loaded = await this.loadById(keyId);
      if (loaded) r = (await this.cache.get(loaded.keyHash, async () => loaded)) ?? undefined;
    }
    if (!r) return fail('NOT_FOUND', 'Invalid API key');
    return this.judge(r, r.keyHash, this.clock.now().getTime()) ?? { code: 'VALID', message: 'OK', record: r, scopes: this.scopesOf(r) };
  }

  private scopesOf(r: KeyRecord): string[] {
    let scopes = this.effective.get(r);
    if (!scopes) this.effective.set(r, (scopes = effectiveScopes(r)));
    return scopes;
  }

  /** Why a known key may not be used now, or undefined when it may. */
  private judge(r: KeyRecord, hash: string, now: number): Verification | undefined {
    if (r.keyHash !== hash && (r.previousExpiresAt === null || r.previousExpiresAt <= now)) {
      return fail('REVOKED', 'API key was regenerated; the old secret no longer works', r);
    }
    if (r.revokedAt !== null) return fail('REVOKED', 'API key revoked', r);
    if (r.expiresAt !== null && r.expiresAt <= now) return fail('EXPIRED', 'API key expired', r);
    if (!r.enabled) return fail('DISABLED', 'API key disabled', r);
    if (!r.ownerActive) return fail('DISABLED', 'API key owner is suspended', r);
    if (r.organizationId && !r.ownerRole) return fail('REVOKED', 'API key owner is no longer a member of its organization', r);
    return undefined;
  }

  /**
   * Verify a key presented from `ip` and count one use (rate limit, credits, usage by outcome). Never
   * throws for a bad key. A key with an IP allowlist is refused (FORBIDDEN) from elsewhere, or when
   * the address is unknown.
   */
  async check(key: string, requiredScopes: readonly string[] = [], ip?: string): Promise<Verification> {
    if (!isWellFormedKey(key)) return fail('MALFORMED', 'Invalid API key');
    const hash = hashKey(key);
    const r = await this.cache.get(hash, () => this.load(hash));
    if (!r) return fail('NOT_FOUND', 'Invalid API key');
    const now = this.clock.now().getTime();
    const bad = this.judge(r, hash, now);
    if (bad) return this.counted(r, bad, now, ip);
    if (r.allowlist && !(ip && allows(r.allowlist, ip))) {
      return this.counted(
        r,
        fail('FORBIDDEN', ip ? `This API key may not be used from ${ip}: the address is not in its IP allowlist` : 'This API key has an IP allowlist and the client address is unknown', r),
        now,
        ip,
      );
    }
    const scopes = this.scopesOf(r);
    for (const s of requiredScopes) if (!scopes.includes(s)) return this.counted(r, { ...fail('INSUFFICIENT_SCOPE', `API key lacks scope ${s}`, r), scopes }, now, ip);
    let rateLimit: RateLimitResult | undefined;
    if (r.rateLimitPerMinute) {
      rateLimit = await this.limiter.hit(`apikey:${r.id}`, r.rateLimitPerMinute, 60);
      if (!rateLimit.allowed) return this.counted(r, { ...fail('RATE_LIMITED', 'API key rate limit exceeded', r), scopes, rateLimit }, now, ip);
    }
    let remaining: number | undefined;
    if (r.remaining !== null) {
      const take = await this.credits.take(
        { keyId: r.id, generation: r.creditsGeneration, remaining: r.remaining, remainingPeriod: r.remainingPeriod, refillInterval: r.refillInterval, refillAmount: r.refillAmount },
        now,
      );
      if (!take.allowed) return this.counted(r, { ...fail('USAGE_EXCEEDED', 'API key usage limit exhausted', r), scopes, rateLimit, remaining: 0 }, now, ip);
      if (!take.unlimited) remaining = take.remaining;
    }
    this.usage.touch(r, now);
    this.usage.count(r, 0, now, ip);
    return { code: 'VALID', message: 'OK', record: r, scopes, rateLimit, remaining };
  }

  /** Counts a verification of a known key by outcome (memory only) and returns it. */
  private counted(r: KeyRecord, v: Verification, now: number, ip: string | undefined): Verification {
    this.usage.count(r, OUTCOME[v.code], now, ip);
    return v;
  }
}

/** The caller a key stands for, with its effective scopes. */
export function keyPrincipal(r: KeyRecord, scopes: string[]): Principal {
  return {
    kind: 'apiKey',
    userId: r.userId,
    keyId: r.id,
    scopes,
    organizationId: r.organizationId ?? undefined,
    pinnedOrganizationId: r.clientOrganizationId ?? r.pinnedOrganizationId ?? undefined,
    partner: r.partner,
  };
}
