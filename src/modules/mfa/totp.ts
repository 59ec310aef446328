// TOTP (RFC 6238: SHA-1, 6 digits, 30 s) with otpauth. The secret is sealed under SECRET and bound to
// its user id; a code is accepted at ±1 step and only for a step later than the last one accepted, so a
// code (and any earlier one) works once. Recovery codes: ten, 50 bits each, stored as HMAC-SHA256.
import { createHmac, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { Clock } from '../common/clock.js';
import { conflict, DomainError } from '../common/errors.js';
import { open, seal } from '../common/sealing.js';
import { RecoveryCode, TotpFactor } from './entities.js';

const PERIOD = 30;
const ISSUER = 'Latchkey';
const RECOVERY_CODES = 10;
const CODE_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export interface Enrolment {
  secret: string;
  uri: string;
  qrCodeDataUrl: string;
}

export class TotpFactors {
  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    /** AES-256-GCM key for secrets, HMAC key for recovery codes (both derived from SECRET). */
    private readonly keys: { seal: Buffer; recovery: Buffer },
  ) {}

  async isOn(userId: string): Promise<boolean> {
    return !!(await this.em.findOne(TotpFactor, { userId, confirmedAt: { $ne: null } }, { fields: ['id'] }));
  }

  /** A new pending secret (replacing a pending one); refused once TOTP is on. */
  async enrol(userId: string, label: string): Promise<Enrolment> {
    const existing = await this.em.findOne(TotpFactor, { userId });
    if (existing?.confirmedAt) throw conflict('TOTP is already on: disable it first to enrol a new authenticator');
    const secret = new Secret({ size: 20 }).base32;
    const sealed = seal(this.keys.seal, secret, `totp:${userId}`);
    if (existing) Object.assign(existing, { secretSealed: sealed, lastUsedStep: 0 });
    else this.em.create(TotpFactor, { userId, secretSealed: sealed, confirmedAt: null, lastUsedStep: 0 });
    await this.em.flush();
    const uri = this.totp(label, secret).toString();
    const svg = await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    return { secret, uri, qrCodeDataUrl: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
  }

  /** Turn on a pending enrolment with its first code; returns the recovery codes (plaintext, once). */
  async confirm(userId: string, code: string): Promise<string[] | undefined> {
    const f = await this.em.findOne(TotpFactor, { userId });
    if (!f) throw new DomainError('FAILED_PRECONDITION', 'No TOTP enrolment is pending: call EnrollTotp first');
    if (f.confirmedAt) throw conflict('TOTP is already on');
    if (!(await this.accept(f, code))) return undefined;
    f.confirmedAt = this.clock.now();
    await this.em.flush();
    return this.regenerateRecoveryCodes(userId);
  }

  /** True when `code` is a current code of the user's confirmed TOTP, never accepted before. */
  async verify(userId: string, code: string): Promise<boolean> {
    const f = await this.em.findOne(TotpFactor, { userId, confirmedAt: { $ne: null } });
    return !!f && (await this.accept(f, code));
  }

  /** Spend an unused recovery code of the user. */
  async spendRecoveryCode(userId: string, code: string): Promise<boolean> {
    const hash = this.hashRecovery(code);
    if (!hash) return false;
    const n = await this.em.nativeUpdate(RecoveryCode, { userId, codeHash: hash, usedAt: null }, { usedAt: this.clock.now() });
    return n === 1;
  }

  async recoveryCodesLeft(userId: string): Promise<number> {
    return this.em.count(RecoveryCode, { userId, usedAt: null });
  }

  /** New recovery codes; the old ones stop working. */
  async regenerateRecoveryCodes(userId: string): Promise<string[]> {
    await this.em.nativeDelete(RecoveryCode, { userId });
    const codes = Array.from({ length: RECOVERY_CODES }, () => recoveryCode());
    for (const c of codes) this.em.create(RecoveryCode, { userId, codeHash: this.hashRecovery(c)!, usedAt: null });
    await this.em.flush();
    return codes;
  }

  async remove(userId: string): Promise<void> {
    await this.em.nativeDelete(TotpFactor, { userId });
    await this.em.nativeDelete(RecoveryCode, { userId });
  }

  private totp(label: string, base32: string): TOTP {
    return new TOTP({ issuer: ISSUER, label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: Secret.fromBase32(base32) });
  }

  /** Check the code at ±1 step and claim its step atomically (two requests with one code: one wins). */
  private async accept(f: TotpFactor, raw: string): Promise<boolean> {
    const code = (raw ?? '').replace(/\s/g, '');
    if (!/^\d{6}$/.test(code)) return false;
    const secret = open(this.keys.seal, f.secretSealed, `totp:${f.userId}`);
    const now = this.clock.now().getTime();
    const delta = this.totp('', secret).validate({ token: code, timestamp: now, window: 1 });
    if (delta === null) return false;
    const step = Math.floor(now / 1000 / PERIOD) + delta;
    const n = await this.em.nativeUpdate(TotpFactor, { id: f.id, lastUsedStep: { $lt: step } }, { lastUsedStep: step });
    if (n !== 1) return false;
    f.lastUsedStep = step;
    return true;
  }

  private hashRecovery(raw: string): string | undefined {
    const code = (raw ?? '').toLowerCase().replace(/[^a-z0-9]/g, '');
    if (code.length !== 10) return undefined;
    return createHmac('sha256', this.keys.recovery).update(code).digest('base64url');
  }
}

/** "xxxxx-xxxxx" from a 31-letter alphabet without look-alikes (~50 bits). */
function recoveryCode(): string {
  const bytes = randomBytes(10);
  let s = '';
  for (let i = 0; i < 10; i++) s += CODE_ALPHABET[bytes[i] % CODE_ALPHABET.length];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}
