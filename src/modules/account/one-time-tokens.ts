// One-time secrets sent by email. Link tokens are 256-bit random, stored as SHA-256; codes are
// 6 digits, stored as an HMAC under a key derived from SECRET. Redemption is atomic: a token is
// used at most once even when redeemed concurrently, and a code dies after MAX_CODE_ATTEMPTS tries.
import { createHmac, randomInt } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../common/clock.js';
import { randomToken, safeEqual, sha256 } from '../common/secrets.js';
import { OneTimeToken } from './one-time-token.entity.js';

export type LinkPurpose = 'verify_email' | 'magic_link' | 'password_reset';
const MAX_CODE_ATTEMPTS = 5;

/** Why a token was refused, so callers that may say so (verification) can. */
type Refusal = 'unknown' | 'used' | 'expired';
export type Redeemed = { ok: true; token: OneTimeToken } | { ok: false; why: Refusal };

export class OneTimeTokens {
  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    private readonly codeKey: Buffer,
  ) {}

  /** A new link token (persisted on the next flush); returns the plaintext for the email. */
  issueLink(purpose: LinkPurpose, email: string, userId: string | null, ttlSeconds: number): string {
    const token = randomToken(32);
    this.add(purpose, email, userId, sha256(token), ttlSeconds);
    return token;
  }

  /** A new 6-digit code for `email`; earlier live codes of that email stop working. */
  async issueCode(email: string, userId: string | null, ttlSeconds: number): Promise<string> {
    const now = this.clock.now();
    await this.em.nativeUpdate(OneTimeToken, { purpose: 'magic_code', email, usedAt: null }, { usedAt: now });
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    this.add('magic_code', email, userId, this.codeHash(email, code), ttlSeconds);
    return code;
  }

  /** Look at a link token without spending it. */
  async peekLink(purpose: LinkPurpose, token: string): Promise<Redeemed> {
    const row = token ? await this.em.findOne(OneTimeToken, { purpose, tokenHash: sha256(token) }) : null;
    if (!row) return { ok: false, why: 'unknown' };
    if (row.usedAt) return { ok: false, why: 'used' };
    if (row.expiresAt <= this.clock.now()) return { ok: false, why: 'expired' };
    return { ok: true, token: row };
  }

  /** Spend a link token; at most one caller ever gets ok for a given token. */
  async redeemLink(purpose: LinkPurpose, token: string): Promise<Redeemed> {
    const seen = await this.peekLink(purpose, token);
    if (!seen.ok) return seen;
    return (await this.spend(seen.token.id)) ? seen : { ok: false, why: 'used' };
  }

  /** Spend the live code of `email` if `code` matches; every try counts against MAX_CODE_ATTEMPTS. */
  async redeemCode(email: string, code: string): Promise<Redeemed> {
    const now = this.clock.now();
    const row = await this.em.findOne(OneTimeToken, { purpose: 'magic_code', email, usedAt: null, expiresAt: { $gt: now } }, { orderBy: { id: 'desc' } });
    if (!row || !/^\d{6}$/.test(code)) return { ok: false, why: 'unknown' };
    // Take a try before comparing, in one statement: parallel guesses cannot exceed the limit.
    const took = await this.em.execute<{ attempts: number }[]>('update one_time_tokens set attempts = attempts + 1 where id = ? and used_at is null and attempts < ? returning attempts', [
      row.id,
      MAX_CODE_ATTEMPTS,
    ]);
    if (!took.length) return { ok: false, why: 'used' };
    if (!safeEqual(row.tokenHash, this.codeHash(email, code))) return { ok: false, why: 'unknown' };
    return (await this.spend(row.id)) ? { ok: true, token: row } : { ok: false, why: 'used' };
  }

  /** Spend every live token of a purpose for a user (e.g. other reset links after a reset). */
  async spendAll(purpose: LinkPurpose, userId: string): Promise<void> {
    await this.em.nativeUpdate(OneTimeToken, { purpose, userId, usedAt: null }, { usedAt: this.clock.now() });
  }

  private async spend(id: string): Promise<boolean> {
    return (await this.em.nativeUpdate(OneTimeToken, { id, usedAt: null }, { usedAt: this.clock.now() })) === 1;
  }

  private add(purpose: string, email: string, userId: string | null, tokenHash: string, ttlSeconds: number): void {
    const now = this.clock.now();
    this.em.create(OneTimeToken, { purpose, email, userId, tokenHash, expiresAt: new Date(now.getTime() + ttlSeconds * 1000), usedAt: null, attempts: 0 });
  }

  private codeHash(email: string, code: string): string {
    return createHmac('sha256', this.codeKey).update(`${email}\n${code}`).digest('base64url');
  }
}
