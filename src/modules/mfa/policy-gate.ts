// The organization policy at the door of every tenant-scoped call (the tenancy interceptor calls it
// after it resolved the organization and the caller's role): a second factor the policy requires and
// the user lacks is a 403; a session older than the policy's lifetime is a 401. Warm: no database.

import type { Clock } from '../common/clock.js';
import { DomainError, unauthorized } from '../common/errors.js';
import type { Principal } from '../common/principal.js';
import { type OrgPolicies, secondFactorRequired } from '../org/policy.js';
import type { Role } from '../org/roles.js';
import type { SecondFactors } from './second-factors.js';

const ULID_TIME = /^[0-9A-HJKMNP-TV-Z]{10}/;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The creation time (ms) a ULID carries in its first 10 characters. */
function ulidTime(id: string): number | undefined {
  if (!ULID_TIME.test(id)) return undefined;
  let t = 0;
  for (const ch of id.slice(0, 10)) t = t * 32 + ALPHABET.indexOf(ch);
  return t;
}

export class PolicyGate {
  constructor(
    private readonly policies: OrgPolicies,
    private readonly mfa: SecondFactors,
    private readonly clock: Clock,
  ) {}

  async check(p: Principal, organizationId: string, role: Role): Promise<void> {
    const policy = await this.policies.get(organizationId);
    if (secondFactorRequired(policy, role) && !(await this.mfa.hasSecondFactor(p.userId))) {
      throw new DomainError('SECOND_FACTOR_ENROLMENT_REQUIRED', "The organization's policy requires a second factor: enrol TOTP or a passkey (profile → Two-factor authentication), then retry");
    }
    const sessionId = p.kind === 'apiKey' ? undefined : p.sessionId;
    if (policy.maxSessionSeconds > 0 && sessionId) {
      const started = ulidTime(sessionId);
      if (started !== undefined && this.clock.now().getTime() - started > policy.maxSessionSeconds * 1000) {
        throw unauthorized(`Session older than the organization's maximum session lifetime (${policy.maxSessionSeconds} s): sign in again`, 'SESSION_EXPIRED');
      }
    }
  }
}
