// Second-factor challenges: a random 256-bit token (only its SHA-256 stored), 5 minutes, 5 wrong
// attempts, spent once. It carries the WebAuthn challenge once passkey options were issued for it.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../common/clock.js';
import { unauthorized } from '../common/errors.js';
import { randomToken, sha256 } from '../common/secrets.js';
import { type ChallengePurpose, MfaChallenge } from './entities.js';

const CHALLENGE_TTL_SECONDS = 5 * 60;
const MAX_ATTEMPTS = 5;

const dead = () => unauthorized('Sign-in challenge unknown, used or expired: sign in again', 'CHALLENGE_INVALID');

export class Challenges {
  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
  ) {}

  async issue(purpose: ChallengePurpose, userId: string | null, method = ''): Promise<{ token: string; row: MfaChallenge }> {
    const token = randomToken(32);
    const expiresAt = new Date(this.clock.now().getTime() + CHALLENGE_TTL_SECONDS * 1000);
    const row = this.em.create(MfaChallenge, { userId, tokenHash: sha256(token), purpose, method, webauthnChallenge: null, attempts: 0, expiresAt, usedAt: null });
    await this.em.flush();
    return { token, row };
  }

  /** The live challenge behind `token` for one of `purposes`; 401 CHALLENGE_INVALID otherwise. */
  async find(token: string, purposes: ChallengePurpose[]): Promise<MfaChallenge> {
    const row = token ? await this.em.findOne(MfaChallenge, { tokenHash: sha256(token) }) : null;
    if (!row || !purposes.includes(row.purpose) || row.usedAt || row.expiresAt <= this.clock.now() || row.attempts >= MAX_ATTEMPTS) throw dead();
    return row;
  }

  async setWebauthn(row: MfaChallenge, challenge: string): Promise<void> {
    row.webauthnChallenge = challenge;
    await this.em.flush();
  }

  /** Count a wrong factor (the challenge dies at MAX_ATTEMPTS). */
  async fail(row: MfaChallenge): Promise<void> {
    await this.em.nativeUpdate(MfaChallenge, { id: row.id }, { attempts: row.attempts + 1 });
  }

  /** Spend it; false when a parallel request spent it first. */
  async spend(row: MfaChallenge): Promise<void> {
    const n = await this.em.nativeUpdate(MfaChallenge, { id: row.id, usedAt: null }, { usedAt: this.clock.now() });
    if (n !== 1) throw dead();
  }
}
