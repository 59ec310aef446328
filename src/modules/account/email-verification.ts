// Email verification: sign-up emails a single-use link valid 24 hours; redeeming it sets
// verifiedAt. Used and expired links are refused with a message that says which.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../common/clock.js';
import { unauthorized } from '../common/errors.js';
import { CONSOLE_PATHS, linkWithToken, type Mailer, verificationEmail } from '../mail/index.js';
import type { AuthThrottle } from '../ratelimit/index.js';
import type { OneTimeTokens } from './one-time-tokens.js';
import { User } from './user.entity.js';

const VERIFY_EMAIL_TTL_SECONDS = 24 * 3600;
const VERIFY_EMAIL_PATH = CONSOLE_PATHS.verifyEmail;

const REFUSALS = {
  unknown: 'Invalid verification link',
  used: 'Verification link already used',
  expired: 'Verification link expired: request a new one',
};

export class EmailVerification {
  constructor(
    private readonly em: EntityManager,
    private readonly tokens: OneTimeTokens,
    private readonly mailer: Mailer,
    private readonly publicUrl: () => string,
    private readonly clock: Clock,
    private readonly throttle: AuthThrottle,
  ) {}

  /** Store a new verification token and email its link (delivery runs in the background). */
  async send(user: User): Promise<void> {
    const token = this.tokens.issueLink('verify_email', user.email, user.id, VERIFY_EMAIL_TTL_SECONDS);
    await this.em.flush();
    this.mailer.send(verificationEmail(user.email, linkWithToken(this.publicUrl(), VERIFY_EMAIL_PATH, token)));
  }

  async verify(token: string, ip: string): Promise<User> {
    await this.throttle.check('verify', ip);
    const r = await this.tokens.redeemLink('verify_email', token);
    if (!r.ok) throw unauthorized(REFUSALS[r.why], 'ONE_TIME_TOKEN_INVALID');
    const user = r.token.userId ? await this.em.findOne(User, { id: r.token.userId }) : null;
    if (!user || user.email !== r.token.email) throw unauthorized(REFUSALS.unknown, 'ONE_TIME_TOKEN_INVALID');
    user.verifiedAt ??= this.clock.now();
    await this.em.flush();
    return user;
  }
}
