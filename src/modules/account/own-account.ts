// What a signed-in user changes on their own account from the console: the display name, and the
// password (set a first one after a magic-link sign-up, or change it knowing the current one).
import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainError, invalid } from '../common/errors.js';
import type { AuthThrottle } from '../ratelimit/index.js';
import { checkPassword, type PasswordHasher } from './password.js';
import { User } from './user.entity.js';

export interface OwnAccountDeps {
  em: EntityManager;
  passwords: PasswordHasher;
  throttle: AuthThrottle;
  /** End every session of the user except the one making the change, on every replica. */
  endOtherSessions: (userId: string, keepSessionId?: string) => Promise<void>;
}

export class OwnAccount {
  constructor(private readonly d: OwnAccountDeps) {}

  async rename(userId: string, fullName: string | undefined): Promise<User> {
    const user = await this.d.em.findOneOrFail(User, { id: userId });
    if (fullName !== undefined) {
      const name = fullName.trim();
      if (name.length > 200) throw invalid('fullName', 'must be at most 200 characters');
      user.fullName = name;
      await this.d.em.flush();
    }
    return user;
  }

  async hasPassword(userId: string): Promise<boolean> {
    const user = await this.d.em.findOneOrFail(User, { id: userId }, { populate: ['passwordHash'] });
    return !!user.passwordHash;
  }

  async setPassword(userId: string, current: string, next: string, keepSessionId: string | undefined, ip: string): Promise<void> {
    checkPassword('newPassword', next);
    const user = await this.d.em.findOneOrFail(User, { id: userId }, { populate: ['passwordHash'] });
    if (user.passwordHash) {
      // A stolen session must not turn into a password-guessing oracle: counted like sign-ins.
      await this.d.throttle.check('sign-in', ip, user.email);
      if (!current || !(await this.d.passwords.verify(user.passwordHash, current))) {
        throw new DomainError('UNAUTHORIZED', "currentPassword: is not the account's password", { field: 'currentPassword' });
      }
    }
    user.passwordHash = await this.d.passwords.hash(next);
    await this.d.em.flush();
    await this.d.endOtherSessions(userId, keepSessionId);
  }
}
