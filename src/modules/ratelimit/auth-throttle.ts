// Throttles on the unauthenticated account endpoints: per client IP and per email address, per
// action, so password guessing, code guessing and mail bombing are each bounded.
import { consume, type RateLimiter } from './rate-limiter.js';

export type AuthAction = 'sign-in' | 'sign-up' | 'magic-link' | 'magic-redeem' | 'password-reset' | 'verify' | 'second-factor';

export interface ThrottleLimits {
  ip: { limit: number; windowSeconds: number };
  email: { limit: number; windowSeconds: number };
}

export class AuthThrottle {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly limits: ThrottleLimits,
  ) {}

  /** Count one attempt; throws RateLimitedError (429) when the IP or the email is over its limit. */
  async check(action: AuthAction, ip: string, email?: string): Promise<void> {
    const { ip: byIp, email: byEmail } = this.limits;
    await consume(this.limiter, `auth:${action}:ip:${ip}`, byIp.limit, byIp.windowSeconds, 'Too many attempts from this address, retry later');
    if (email) await consume(this.limiter, `auth:${action}:email:${email}`, byEmail.limit, byEmail.windowSeconds, 'Too many attempts for this account, retry later');
  }
}
