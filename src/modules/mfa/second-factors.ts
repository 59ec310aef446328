// The second factor of an account: TOTP (+ recovery codes) and passkeys. It gates sign-in (a
// challenge instead of a session), completes challenges, records step-ups in the session, and answers
// "has this user a second factor" from a cache that every replica's bus clears ({userId}).
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AccountService } from '../account/account.service.js';
import type { User } from '../account/user.entity.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { Invalidation } from '../common/bus.js';
import { Cache, type CacheContext } from '../common/cache.js';
import type { Clock } from '../common/clock.js';
import { DomainError, forbidden, unauthorized } from '../common/errors.js';
import type { Principal } from '../common/principal.js';
import type { AuthThrottle } from '../ratelimit/index.js';
import type { ClientInfo, SecondFactorChallenge, SessionService, SignedIn, SignInMethod } from '../session/session.service.js';
import type { Challenges } from './challenges.js';
import type { MfaChallenge, Passkey } from './entities.js';
import type { Passkeys } from './passkeys.js';
import type { Enrolment, TotpFactors } from './totp.js';

/** How recent a second factor must be for the step-up operations. */
const STEP_UP_WINDOW_SECONDS = 10 * 60;

export interface SecondFactorsDeps {
  em: EntityManager;
  clock: Clock;
  audit: AuditLog;
  throttle: AuthThrottle;
  accounts: AccountService;
  sessions: SessionService;
  totp: TotpFactors;
  passkeys: Passkeys;
  challenges: Challenges;
  caches: CacheContext;
  invalidate: (inv: Invalidation) => void;
}

export interface FactorSummary {
  totpEnabled: boolean;
  recoveryCodesRemaining: number;
  passkeys: Passkey[];
  secondFactorAt?: Date | null;
}

/** A code (TOTP or recovery) or a passkey assertion. */
export interface FactorInput {
  code?: string;
  passkeyResponseJson?: string;
}

const WRONG = 'Invalid or already used code, or a passkey that does not verify';

export class SecondFactors {
  private readonly has: Cache<boolean>;

  constructor(private readonly d: SecondFactorsDeps) {
    this.has = new Cache(d.caches, { max: 100_000, ttlMs: 60_000 });
  }

  apply(inv: Invalidation): void {
    if ('all' in inv) this.has.clear();
    else if ('userId' in inv) this.has.delete(inv.userId);
  }

  /** True when the user has TOTP on or a passkey. Warm: in memory. */
  async hasSecondFactor(userId: string): Promise<boolean> {
    return this.has.get(userId, async (id) => (await this.d.totp.isOn(id)) || (await this.d.passkeys.count(id)) > 0);
  }

  async methodsOf(userId: string): Promise<string[]> {
    const m: string[] = [];
    if (await this.d.totp.isOn(userId)) m.push('totp', 'recovery_code');
    if ((await this.d.passkeys.count(userId)) > 0) m.push('passkey');
    return m;
  }

  async summary(userId: string, sessionId?: string): Promise<FactorSummary> {
    return {
      totpEnabled: await this.d.totp.isOn(userId),
      recoveryCodesRemaining: await this.d.totp.recoveryCodesLeft(userId),
      passkeys: await this.d.passkeys.list(userId),
      secondFactorAt: sessionId ? await this.d.sessions.secondFactorAt(sessionId) : undefined,
    };
  }

  /** The sign-in gate (SessionService calls it): a challenge instead of a session when the user has a factor. */
  async gate(user: User, method: SignInMethod): Promise<SecondFactorChallenge | undefined> {
    if (!(await this.hasSecondFactor(user.id))) return undefined;
    const { token, row } = await this.d.challenges.issue('sign_in', user.id, method);
    return { kind: 'challenge', user, token, expiresAt: row.expiresAt, methods: await this.methodsOf(user.id) };
  }

  /** Complete a sign-in challenge (or a passwordless passkey sign-in) and start the session. */
  async complete(token: string, f: FactorInput, client: ClientInfo): Promise<SignedIn> {
    await this.d.throttle.check('second-factor', client.ip);
    const ch = await this.d.challenges.find(token, ['sign_in', 'passwordless']);
    let userId = ch.userId;
    let via: string;
    if (ch.purpose === 'passwordless') {
      if (!f.passkeyResponseJson || !ch.webauthnChallenge) throw unauthorized(WRONG, 'SECOND_FACTOR_INVALID');
      const pk = await this.d.passkeys.verifyAssertion(f.passkeyResponseJson, ch.webauthnChallenge, undefined, true);
      if (!pk) return this.refuse(ch, undefined, client, 'passkey');
      userId = pk.userId;
      via = 'passkey';
    } else {
      await this.d.throttle.check('second-factor', client.ip, userId!);
      via = await this.check(userId!, f, ch, client);
      if (!via) return this.refuse(ch, userId!, client, f.passkeyResponseJson ? 'passkey' : 'code');
    }
    await this.d.challenges.spend(ch);
    const user = await this.d.accounts.get(userId!);
    if (!user.isActive) throw unauthorized('Invalid email or password', 'SIGN_IN_FAILED');
    const method = ch.purpose === 'passwordless' ? 'passkey' : ch.method;
    return this.d.sessions.start(user, client, method as SignInMethod, { secondFactorAt: this.d.clock.now(), secondFactor: via });
  }

  /** Record a second factor in the calling session (step-up). */
  async stepUp(userId: string, sessionId: string, f: FactorInput & { challengeToken?: string }, client: ClientInfo): Promise<Date> {
    await this.d.throttle.check('second-factor', client.ip, userId);
    if (!(await this.hasSecondFactor(userId))) throw new DomainError('FAILED_PRECONDITION', 'The account has no second factor: enrol TOTP or a passkey first');
    const ch = f.passkeyResponseJson ? await this.d.challenges.find(f.challengeToken ?? '', ['step_up']) : undefined;
    if (ch && ch.userId !== userId) throw unauthorized('Sign-in challenge unknown, used or expired: sign in again', 'CHALLENGE_INVALID');
    const via = await this.check(userId, f, ch, client);
    if (!via) return this.refuse(ch, userId, client, f.passkeyResponseJson ? 'passkey' : 'code');
    if (ch) await this.d.challenges.spend(ch);
    const at = this.d.clock.now();
    await this.d.sessions.markSecondFactor(sessionId, at);
    await this.record(userId, 'mfa.stepped_up', client, { method: via });
    return new Date(at.getTime() + STEP_UP_WINDOW_SECONDS * 1000);
  }

  /**
   * The step-up rule: a user with a second factor, calling from a session (cookie or sign-in token),
   * must have used it in that session within STEP_UP_WINDOW_SECONDS. Keys and exchanged tokens carry
   * no session and are not asked.
   */
  async requireRecent(p: Principal, what: string): Promise<void> {
    if (p.kind === 'apiKey' || !p.sessionId || (p.kind === 'jwt' && p.actor)) return;
    if (!(await this.hasSecondFactor(p.userId))) return;
    const at = await this.d.sessions.secondFactorAt(p.sessionId);
    if (at && this.d.clock.now().getTime() - at.getTime() <= STEP_UP_WINDOW_SECONDS * 1000) return;
    throw forbidden(`${what} needs a second factor used in the last 10 minutes: step up (MfaService.StepUp) and retry`, 'SECOND_FACTOR_REQUIRED');
  }

  // ---- TOTP ----

  async enrolTotp(p: Principal, client: ClientInfo): Promise<Enrolment> {
    await this.requireRecent(p, 'Enrolling a new second factor');
    const user = await this.d.accounts.get(p.userId);
    const e = await this.d.totp.enrol(user.id, user.email);
    await this.record(user.id, 'mfa.totp_enrolment_started', client);
    return e;
  }

  async confirmTotp(userId: string, sessionId: string | undefined, code: string, client: ClientInfo): Promise<string[]> {
    await this.d.throttle.check('second-factor', client.ip, userId);
    const codes = await this.d.totp.confirm(userId, code);
    if (!codes) return this.refuse(undefined, userId, client, 'totp');
    if (sessionId) await this.d.sessions.markSecondFactor(sessionId, this.d.clock.now());
    await this.record(userId, 'mfa.totp_enrolled', client);
    this.d.invalidate({ userId });
    return codes;
  }

  async disableTotp(userId: string, code: string, client: ClientInfo): Promise<void> {
    await this.d.throttle.check('second-factor', client.ip, userId);
    if (!(await this.d.totp.isOn(userId))) throw new DomainError('FAILED_PRECONDITION', 'TOTP is not on');
    const ok = (await this.d.totp.verify(userId, code)) || (await this.d.totp.spendRecoveryCode(userId, code));
    if (!ok) return this.refuse(undefined, userId, client, 'totp');
    await this.d.totp.remove(userId);
    await this.record(userId, 'mfa.totp_disabled', client);
    this.d.invalidate({ userId });
  }

  async regenerateRecoveryCodes(userId: string, code: string, client: ClientInfo): Promise<string[]> {
    await this.d.throttle.check('second-factor', client.ip, userId);
    if (!(await this.d.totp.isOn(userId))) throw new DomainError('FAILED_PRECONDITION', 'TOTP is not on');
    if (!(await this.d.totp.verify(userId, code))) return this.refuse(undefined, userId, client, 'totp');
    const codes = await this.d.totp.regenerateRecoveryCodes(userId);
    await this.record(userId, 'mfa.recovery_codes_regenerated', client);
    return codes;
  }

  // ---- passkeys ----

  async passkeyRegistrationOptions(p: Principal, client: ClientInfo): Promise<{ optionsJson: string; challengeToken: string }> {
    await this.requireRecent(p, 'Adding a passkey');
    const user = await this.d.accounts.get(p.userId);
    const options = await this.d.passkeys.registrationOptions(user);
    const { token, row } = await this.d.challenges.issue('passkey_registration', user.id);
    await this.d.challenges.setWebauthn(row, options.challenge);
    void client;
    return { optionsJson: JSON.stringify(options), challengeToken: token };
  }

  async addPasskey(userId: string, challengeToken: string, responseJson: string, name: string, client: ClientInfo): Promise<Passkey> {
    const ch = await this.d.challenges.find(challengeToken, ['passkey_registration']);
    if (ch.userId !== userId || !ch.webauthnChallenge) throw unauthorized('Sign-in challenge unknown, used or expired: sign in again', 'CHALLENGE_INVALID');
    await this.d.challenges.spend(ch);
    const pk = await this.d.passkeys.register(userId, ch.webauthnChallenge, responseJson, name);
    await this.record(userId, 'mfa.passkey_added', client, { passkeyId: pk.id, name: pk.name });
    this.d.invalidate({ userId });
    return pk;
  }

  async renamePasskey(userId: string, id: string, name: string, client: ClientInfo): Promise<Passkey> {
    const pk = await this.d.passkeys.rename(userId, id, name);
    await this.record(userId, 'mfa.passkey_renamed', client, { passkeyId: id, name: pk.name });
    return pk;
  }

  async removePasskey(p: Principal, id: string, client: ClientInfo): Promise<void> {
    await this.requireRecent(p, 'Removing a passkey');
    await this.d.passkeys.remove(p.userId, id);
    await this.record(p.userId, 'mfa.passkey_removed', client, { passkeyId: id });
    this.d.invalidate({ userId: p.userId });
  }

  /** Options for a sign-in's passkey factor (with its challenge) or a passwordless sign-in (a new challenge). */
  async assertionOptions(challengeToken: string, client: ClientInfo): Promise<{ optionsJson: string; challengeToken: string }> {
    await this.d.throttle.check('second-factor', client.ip);
    const existing = challengeToken ? await this.d.challenges.find(challengeToken, ['sign_in']) : undefined;
    const issued = existing ? undefined : await this.d.challenges.issue('passwordless', null, 'passkey');
    const row = existing ?? issued!.row;
    const options = await this.d.passkeys.assertionOptions(existing?.userId ?? undefined);
    await this.d.challenges.setWebauthn(row, options.challenge);
    return { optionsJson: JSON.stringify(options), challengeToken: existing ? challengeToken : issued!.token };
  }

  async stepUpOptions(userId: string): Promise<{ optionsJson: string; challengeToken: string }> {
    if ((await this.d.passkeys.count(userId)) === 0) throw new DomainError('FAILED_PRECONDITION', 'The account has no passkey');
    const { token, row } = await this.d.challenges.issue('step_up', userId);
    const options = await this.d.passkeys.assertionOptions(userId);
    await this.d.challenges.setWebauthn(row, options.challenge);
    return { optionsJson: JSON.stringify(options), challengeToken: token };
  }

  // ---- internals ----

  /** Which factor `f` proves for the user ('totp', 'recovery_code', 'passkey'), or '' for none. */
  private async check(userId: string, f: FactorInput, ch: MfaChallenge | undefined, client: ClientInfo): Promise<string> {
    if (f.passkeyResponseJson) {
      if (!ch?.webauthnChallenge) return '';
      return (await this.d.passkeys.verifyAssertion(f.passkeyResponseJson, ch.webauthnChallenge, userId, false)) ? 'passkey' : '';
    }
    const code = f.code ?? '';
    if (await this.d.totp.verify(userId, code)) return 'totp';
    if (await this.d.totp.spendRecoveryCode(userId, code)) {
      const left = await this.d.totp.recoveryCodesLeft(userId);
      await this.record(userId, 'mfa.recovery_code_used', client, { remaining: left });
      return 'recovery_code';
    }
    return '';
  }

  private async refuse(ch: MfaChallenge | undefined, userId: string | undefined, client: ClientInfo, factor: string): Promise<never> {
    if (ch) await this.d.challenges.fail(ch);
    if (userId) await this.record(userId, 'mfa.challenge_failed', client, { factor, purpose: ch?.purpose ?? 'enrolment' });
    throw unauthorized(WRONG, 'SECOND_FACTOR_INVALID');
  }

  private async record(userId: string, type: string, client: ClientInfo, metadata: Record<string, unknown> = {}): Promise<void> {
    await this.d.audit.recordForUser(this.d.em, userId, { type, actorType: 'user', actorId: userId, ip: client.ip, userAgent: client.userAgent, targetType: 'user', targetId: userId, metadata });
    await this.d.em.flush();
  }
}
