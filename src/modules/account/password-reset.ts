// Password reset: the request answers the same for every address and emails a single-use link
// valid 1 hour; the reset sets the new password and ends every session and refresh token of the user.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../common/clock.js';
import { DomainError } from '../common/errors.js';
import { CONSOLE_PATHS, linkWithToken, type Mailer, passwordResetEmail } from '../mail/index.js';
import type { AuthThrottle } from '../ratelimit/index.js';
import { normalizeEmail } from './account.service.js';
import type { OneTimeTokens } from './one-time-tokens.js';
import { checkPassword, type PasswordHasher } from './password.js';
import { User } from './user.entity.js';

const RESET_TTL_SECONDS = 3600;
/** The page (your front end, at PUBLIC_URL) that asks for the new password and calls ResetPassword. */
const RESET_PATH = CONSOLE_PATHS.resetPassword;

const REFUSALS = {
  unknown: 'Invalid password reset link',
  used: 'Password reset link already used',
  expired: 'Password reset link expired: request a new one',
};

export interface PasswordResetDeps {
  em: EntityManager;
  tokens: OneTimeTokens;
  passwords: PasswordHasher;
  mailer: Mailer;
  publicUrl: () => string;
  clock: Clock;
  throttle: AuthThrottle;
  /** Revoke every session and refresh token of the user, on every replica. */
  endSessions: (userId: string) => Promise<void>;
  /** Sessions, refresh tokens and API keys of the user, on every replica (first proof of the address). */
  endCredentials?: (userId: string) => Promise<void>;
}

export class PasswordReset {
  constructor(private readonly d: PasswordResetDeps) {}

  async request(rawEmail: string, ip: string): Promise<void> {
    const email = normalizeEmail('email', rawEmail);
    await this.d.throttle.check('password-reset', ip, email);
    const user = await this.d.em.findOne(User, { email });
    if (!user?.isActive) return; // same answer: no account enumeration
    const token = this.d.tokens.issueLink('password_reset', email, user.id, RESET_TTL_SECONDS);
    await this.d.em.flush();
    this.d.mailer.send(passwordResetEmail(email, linkWithToken(this.d.publicUrl(), RESET_PATH, token)));
  }

  async reset(token: string, newPassword: string, ip: string): Promise<void> {
    await this.d.throttle.check('password-reset', ip);
    checkPassword('new_password', newPassword);
    // Check the token before spending scrypt time on it, and spend it only after hashing succeeded.
    const seen = await this.d.tokens.peekLink('password_reset', token);
    if (!seen.ok) throw new DomainError('RESET_TOKEN_INVALID', REFUSALS[seen.why]);
    const passwordHash = await this.d.passwords.hash(newPassword);
    const r = await this.d.tokens.redeemLink('password_reset', token);
    if (!r.ok) throw new DomainError('RESET_TOKEN_INVALID', REFUSALS[r.why]);
    const user = await this.d.em.findOne(User, { id: r.token.userId! });
    if (!user || user.email !== r.token.email) throw new DomainError('RESET_TOKEN_INVALID', REFUSALS.unknown);
    const claimed = !user.verifiedAt;
    user.passwordHash = passwordHash;
    user.verifiedAt ??= this.d.clock.now(); // the link proved the address
    await this.d.em.flush();
    await this.d.tokens.spendAll('password_reset', user.id);
    // The new password is the owner's; on an account never verified before, whatever its sign-up
    // issued (API keys, personal tokens) goes too, not only the sessions (pre-registration takeover).
    if (claimed && this.d.endCredentials) await this.d.endCredentials(user.id);
    else await this.d.endSessions(user.id);
  }
}
