// Accounts: sign-up provisions the user, a default organization and its root_admin membership.

import { randomBytes } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditLog } from '../audit/audit.service.js';
import type { Clock } from '../common/clock.js';
import { conflict, invalid, notFound } from '../common/errors.js';
import type { OrgService } from '../org/org.service.js';
import type { Organization } from '../org/organization.entity.js';
import type { AuthThrottle } from '../ratelimit/index.js';
import type { EmailVerification } from './email-verification.js';
import { checkPassword, type PasswordHasher } from './password.js';
import { User } from './user.entity.js';

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normalizeEmail(field: string, raw: string): string {
  const email = raw.trim().toLowerCase();
  if (!email) throw invalid(field, 'is required');
  if (email.length > 320 || !EMAIL_RE.test(email)) throw invalid(field, 'is not a valid email address');
  return email;
}

function handleFor(email: string): string {
  const local =
    email
      .split('@')[0]
      .replace(/[^a-z0-9]+/g, '')
      .slice(0, 40) || 'user';
  return `${local}-${randomBytes(3).toString('hex')}`;
}

export interface SignUpInput {
  email: string;
  password: string;
  name: string;
}

/** What sign-up needs besides storage; all required, so an account service cannot run unthrottled. */
export interface AccountDeps {
  verification: EmailVerification;
  throttle: AuthThrottle;
  clock: Clock;
  /** `user.created`, in the new user's default organization. */
  audit?: AuditLog;
}

export class AccountService {
  constructor(
    private readonly em: EntityManager,
    private readonly passwords: PasswordHasher,
    private readonly orgs: OrgService,
    private readonly d: AccountDeps,
  ) {}

  /** Create the account and its organization, then email a verification link (in the background). */
  async signUp(input: SignUpInput, client?: { ip: string }): Promise<{ user: User; organization: Organization }> {
    const email = normalizeEmail('email', input.email);
    if (client) await this.d.throttle.check('sign-up', client.ip, email);
    checkPassword('password', input.password);
    const name = input.name.trim();
    if (name.length > 200) throw invalid('name', 'must be at most 200 characters');
    if (await this.em.count(User, { email })) throw conflict('An account with this email already exists');
    // Hash before the transaction: the embedded database runs one transaction at a time.
    const passwordHash = await this.passwords.hash(input.password);
    let created: { user: User; organization: Organization };
    try {
      created = await this.em.transactional(async (tx) => {
        const user = tx.create(User, { email, passwordHash, fullName: name, handle: handleFor(email), verifiedAt: null, isActive: true, lastLoginAt: null });
        const organization = this.orgs.createWithOwner(tx, user.id, name ? `${name}'s organization` : 'My organization', 'personal');
        this.recordCreated(tx, user, organization.id, 'password');
        return { user, organization };
      });
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException) throw conflict('An account with this email already exists');
      throw e;
    }
    await this.d.verification.send(created.user);
    return created;
  }

  /**
   * The account of an address that just proved it is theirs (magic link): created with its default
   * organization when there is none yet, and marked verified. `claimed` is true when an existing
   * account was never verified: whoever signed it up did not prove the address, so its password is
   * cleared here and the caller must end every session and credential it issued (pre-registration
   * takeover).
   */
  async provisionVerified(email: string): Promise<{ user: User; claimed: boolean }> {
    const now = this.d.clock.now();
    let user = await this.em.findOne(User, { email });
    if (!user) {
      try {
        user = await this.em.transactional(async (tx) => {
          const u = tx.create(User, { email, passwordHash: null, fullName: '', handle: handleFor(email), verifiedAt: now, isActive: true, lastLoginAt: null });
          const organization = this.orgs.createWithOwner(tx, u.id, 'My organization', 'personal');
          this.recordCreated(tx, u, organization.id, 'magic_link');
          return u;
        });
      } catch (e) {
        if (!(e instanceof UniqueConstraintViolationException)) throw e;
        user = await this.em.findOneOrFail(User, { email }); // created by a parallel redemption
      }
      user = await this.em.findOneOrFail(User, { id: user.id });
    }
    let claimed = false;
    if (!user.verifiedAt) {
      // One conditional write: of two parallel redemptions one claims, and the password goes with it.
      claimed = (await this.em.nativeUpdate(User, { id: user.id, verifiedAt: null }, { verifiedAt: now, passwordHash: null })) > 0;
      await this.em.refresh(user);
    }
    return { user: user!, claimed };
  }

  private recordCreated(tx: EntityManager, user: User, organizationId: string, method: string): void {
    const actor = { actorType: 'user' as const, actorId: user.id, ip: '', userAgent: '' };
    this.d.audit?.record(tx, { ...actor, organizationId, type: 'user.created', targetType: 'user', targetId: user.id, metadata: { email: user.email, method } });
  }

  findByEmail(email: string): Promise<User | null> {
    return this.em.findOne(User, { email });
  }

  async get(userId: string): Promise<User> {
    const user = await this.em.findOne(User, { id: userId });
    if (!user) throw notFound('User');
    return user;
  }

  /** The user with their password hash, by email; null when unknown. */
  findWithPassword(email: string): Promise<User | null> {
    return this.em.findOne(User, { email }, { populate: ['passwordHash'] });
  }
}
