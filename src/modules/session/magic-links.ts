// Passwordless sign-in (seed 000): an emailed one-time link (15 minutes) or 6-digit code
// (10 minutes, 5 tries). The request answers the same for every address; an address with no
// account gets a sign-up link instead, which creates the account when redeemed.
import type { EntityManager } from '@mikro-orm/postgresql';
import { type AccountService, normalizeEmail } from '../account/account.service.js';
import type { OneTimeTokens } from '../account/one-time-tokens.js';
import { invalid, unauthorized } from '../common/errors.js';
import { CONSOLE_PATHS, linkWithToken, type Mailer, magicCodeEmail, magicLinkEmail, signUpLinkEmail } from '../mail/index.js';
import type { AuthThrottle } from '../ratelimit/index.js';
import type { ClientInfo, SessionService, SignInOutcome } from './session.service.js';

const MAGIC_LINK_TTL_SECONDS = 15 * 60;
const MAGIC_CODE_TTL_SECONDS = 10 * 60;
/** Where emailed links point (PUBLIC_URL + path): the page that POSTs the token to /magic-link/redirect. */
const MAGIC_LINK_PATH = CONSOLE_PATHS.magicLink;

const REFUSED = 'Invalid or expired sign-in link or code';

export interface MagicLinksDeps {
  em: EntityManager;
  accounts: AccountService;
  tokens: OneTimeTokens;
  sessions: SessionService;
  mailer: Mailer;
  publicUrl: () => string;
  throttle: AuthThrottle;
  /** End every session, refresh token and API key of a user, on every replica (pre-registration claim). */
  endCredentials: (userId: string) => Promise<void>;
}

export interface Redemption {
  token?: string;
  email?: string;
  code?: string;
}

export class MagicLinks {
  constructor(private readonly d: MagicLinksDeps) {}

  async request(rawEmail: string, rawType: string, ip: string): Promise<void> {
    const email = normalizeEmail('email', rawEmail);
    const type = rawType || 'link';
    if (type !== 'link' && type !== 'code') throw invalid('type', 'must be "link" or "code"');
    await this.d.throttle.check('magic-link', ip, email);
    const user = await this.d.accounts.findByEmail(email);
    if (user && !user.isActive) return; // same answer, no email for a suspended account
    const userId = user?.id ?? null;
    const token = !user || type === 'link' ? this.d.tokens.issueLink('magic_link', email, userId, MAGIC_LINK_TTL_SECONDS) : undefined;
    const code = type === 'code' ? await this.d.tokens.issueCode(email, userId, MAGIC_CODE_TTL_SECONDS) : undefined;
    await this.d.em.flush();
    const link = token ? linkWithToken(this.d.publicUrl(), MAGIC_LINK_PATH, token) : undefined;
    if (!user) this.d.mailer.send(signUpLinkEmail(email, link!, code));
    else this.d.mailer.send(link ? magicLinkEmail(email, link) : magicCodeEmail(email, code!));
  }

  /** Spend the link or code and sign in exactly as SignIn does; creates the account on first use. */
  async redeem(r: Redemption, client: ClientInfo): Promise<SignInOutcome> {
    const byCode = !r.token;
    if (byCode && (!r.email || !r.code)) throw invalid('token', 'is required (or email and code)');
    const email = byCode ? normalizeEmail('email', r.email!) : undefined;
    await this.d.throttle.check('magic-redeem', client.ip, email);
    const spent = byCode ? await this.d.tokens.redeemCode(email!, r.code!.trim()) : await this.d.tokens.redeemLink('magic_link', r.token!);
    if (!spent.ok) throw unauthorized(REFUSED, 'ONE_TIME_TOKEN_INVALID');
    const { user, claimed } = await this.d.accounts.provisionVerified(spent.token.email);
    if (!user.isActive) throw unauthorized(REFUSED, 'ONE_TIME_TOKEN_INVALID');
    // First proof of the address on an account someone signed up for without proving it: their
    // password is gone (cleared above) and so is every session and key they started.
    if (claimed) await this.d.endCredentials(user.id);
    return this.d.sessions.open(user, client, byCode ? 'magic_code' : 'magic_link');
  }
}
