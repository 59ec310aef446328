// The mfa module: TOTP, recovery codes, passkeys, challenges and step-up, wired from the deps container.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AccountService } from '../account/account.service.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { InvalidationBus } from '../common/bus.js';
import type { CacheContext } from '../common/cache.js';
import type { Clock } from '../common/clock.js';
import type { AuthThrottle } from '../ratelimit/index.js';
import type { SessionService } from '../session/session.service.js';
import { Challenges } from './challenges.js';
import { Passkeys } from './passkeys.js';
import { SecondFactors } from './second-factors.js';
import { TotpFactors } from './totp.js';

export type { SecondFactors } from './second-factors.js';

export interface MfaDeps {
  em: EntityManager;
  clock: Clock;
  audit: AuditLog;
  throttle: AuthThrottle;
  accounts: AccountService;
  sessions: SessionService;
  caches: CacheContext;
  bus: InvalidationBus;
  /** Keys derived from SECRET: TOTP secrets are sealed with one, recovery codes keyed with the other. */
  keys: { seal: Buffer; recovery: Buffer };
  publicUrl: () => string;
}

/** Builds the module and installs its sign-in gate on the session service. */
export function createSecondFactors(d: MfaDeps): SecondFactors {
  const mfa = new SecondFactors({
    em: d.em,
    clock: d.clock,
    audit: d.audit,
    throttle: d.throttle,
    accounts: d.accounts,
    sessions: d.sessions,
    totp: new TotpFactors(d.em, d.clock, d.keys),
    passkeys: new Passkeys(d.em, d.clock, d.publicUrl),
    challenges: new Challenges(d.em, d.clock),
    caches: d.caches,
    invalidate: (inv) => d.bus.invalidate(inv),
  });
  d.bus.subscribe((inv) => mfa.apply(inv));
  d.sessions.setGate(mfa);
  return mfa;
}
