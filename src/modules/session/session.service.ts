// Cookie sessions: a random token in the cookie, only its SHA-256 in the database, and a
// short in-memory cache so a cookie-authenticated request does not hit the database each time.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AccountService } from '../account/account.service.js';
import type { PasswordHasher } from '../account/password.js';
import { User } from '../account/user.entity.js';
import type { Clock } from '../common/clock.js';
import { unauthorized } from '../common/errors.js';
import { randomToken, sha256 } from '../common/secrets.js';
import { TtlCache } from '../common/ttl-cache.js';
import { Session } from './session.entity.js';

export interface SessionInfo {
  sessionId: string;
  userId: string;
  expiresAt: number;
}

export interface ClientInfo {
  ip: string;
  userAgent: string;
}

const CACHE_TTL_MS = 60_000;

export class SessionService {
  private readonly cache = new TtlCache<SessionInfo>(CACHE_TTL_MS);

  constructor(
    private readonly em: EntityManager,
    private readonly accounts: AccountService,
    private readonly passwords: PasswordHasher,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  async signIn(rawEmail: string, password: string, client: ClientInfo): Promise<{ user: User; session: Session; token: string }> {
    const email = rawEmail.trim().toLowerCase();
    const user = email && password ? await this.accounts.findWithPassword(email) : null;
    // Same scrypt effort whether or not the account exists.
    const ok = await this.passwords.verify(user?.isActive ? user.passwordHash : null, password ?? '');
    if (!user || !ok) throw unauthorized('Invalid email or password');
    if (user.passwordHash && this.passwords.outdated(user.passwordHash)) user.passwordHash = await this.passwords.hash(password);
    return this.start(user, client);
  }

  /** Open a new session for an authenticated user (new token on every sign-in). */
  async start(user: User, client: ClientInfo): Promise<{ user: User; session: Session; token: string }> {
    const now = this.clock.now();
    const token = randomToken(32);
    const session = this.em.create(Session, {
      userId: user.id,
      tokenHash: sha256(token),
      userAgent: client.userAgent.slice(0, 512),
      ip: client.ip.slice(0, 64),
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.ttlSeconds * 1000),
      revokedAt: null,
    });
    user.lastLoginAt = now;
    await this.em.flush();
    return { user, session, token };
  }

  /** The live session behind a cookie token, or undefined. Warm: no database round trip. */
  async authenticate(token: string): Promise<SessionInfo | undefined> {
    const hash = sha256(token);
    const now = this.clock.now().getTime();
    let info = this.cache.get(hash);
    if (!info) {
      const s = await this.em.findOne(Session, { tokenHash: hash, revokedAt: null }, { fields: ['id', 'userId', 'expiresAt'] });
      if (!s) return undefined;
      info = { sessionId: s.id, userId: s.userId, expiresAt: s.expiresAt.getTime() };
      this.cache.set(hash, info);
    }
    return info.expiresAt > now ? info : undefined;
  }

  async revoke(sessionId: string): Promise<void> {
    await this.em.nativeUpdate(Session, { id: sessionId, revokedAt: null }, { revokedAt: this.clock.now() });
    this.cache.deleteWhere((s) => s.sessionId === sessionId);
  }

  async revokeAllOf(userId: string): Promise<void> {
    await this.em.nativeUpdate(Session, { userId, revokedAt: null }, { revokedAt: this.clock.now() });
    this.cache.deleteWhere((s) => s.userId === userId);
  }
}

