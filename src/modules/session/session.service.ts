// Sessions. A sign-in opens a session and hands out three credentials: a cookie token, a
// short-lived access token (JWT, carrying the session id) and a refresh token (rotating, its
// family is the session). Only SHA-256 hashes are stored. Session state is cached in memory so
// cookie and JWT requests need no database round trip when warm; revocation updates the cache.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AccountService } from '../account/account.service.js';
import type { PasswordHasher } from '../account/password.js';
import { User } from '../account/user.entity.js';
import type { Clock } from '../common/clock.js';
import { forbidden, notFound, unauthorized } from '../common/errors.js';
import { cut, type Page } from '../common/page-token.js';
import { randomToken, sha256 } from '../common/secrets.js';
import { TtlCache } from '../common/ttl-cache.js';
import type { AuthThrottle } from '../ratelimit/index.js';
import type { AccessTokens } from '../token/index.js';
import { RefreshToken } from './refresh-token.entity.js';
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

export type SignInMethod = 'password' | 'magic_link' | 'magic_code';

export interface SignedIn {
  user: User;
  session: Session;
  /** Cookie token. */
  token: string;
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
}

export interface TokenPair {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
}

/** What SessionService records in the audit log (deps.audit satisfies it). */
export interface SignInAudit {
  recordForUser(
    em: EntityManager,
    userId: string,
    e: { type: 'user.signed_in' | 'user.sign_in_failed' | 'session.revoked'; actorType: 'user'; actorId: string; ip: string; userAgent: string; targetType?: string; targetId?: string; metadata?: Record<string, unknown> },
  ): Promise<number>;
}

export interface SessionServiceDeps {
  accounts: AccountService;
  passwords: PasswordHasher;
  clock: Clock;
  tokens: AccessTokens;
  throttle: AuthThrottle;
  audit?: SignInAudit;
  sessionTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  refreshReuseGraceSeconds: number;
  requireEmailVerification: boolean;
}

interface SessionState {
  userId: string;
  expiresAt: number;
  revoked: boolean;
}

const CACHE_TTL_MS = 60_000;
const TOUCH_AFTER_MS = 60_000;

export class SessionService {
  private readonly byToken = new TtlCache<{ sessionId: string; userId: string }>(CACHE_TTL_MS);
  private readonly byId = new TtlCache<SessionState>(CACHE_TTL_MS);

  constructor(
    private readonly em: EntityManager,
    private readonly d: SessionServiceDeps,
  ) {}

  async signIn(rawEmail: string, password: string, client: ClientInfo): Promise<SignedIn> {
    const email = (rawEmail ?? '').trim().toLowerCase();
    await this.d.throttle.check('sign-in', client.ip, email || undefined);
    const user = email && password ? await this.d.accounts.findWithPassword(email) : null;
    // Same scrypt effort whether or not the account exists.
    const ok = await this.d.passwords.verify(user?.isActive ? user.passwordHash : null, password ?? '');
    if (!user || !ok) {
      if (user) {
        await this.d.audit?.recordForUser(this.em, user.id, { type: 'user.sign_in_failed', actorType: 'user', actorId: user.id, ip: client.ip, userAgent: client.userAgent, metadata: { method: 'password' } });
        await this.em.flush();
      }
      throw unauthorized('Invalid email or password');
    }
    if (this.d.requireEmailVerification && !user.verifiedAt) throw forbidden('Verify your email address before signing in: follow the link we emailed you');
    if (user.passwordHash && this.d.passwords.outdated(user.passwordHash)) user.passwordHash = await this.d.passwords.hash(password);
    return this.start(user, client, 'password');
  }

  /** Open a new session for an authenticated user (new tokens on every sign-in). */
  async start(user: User, client: ClientInfo, method: SignInMethod = 'password'): Promise<SignedIn> {
    const now = this.d.clock.now();
    const token = randomToken(32);
    const session = this.em.create(Session, {
      userId: user.id,
      tokenHash: sha256(token),
      userAgent: client.userAgent.slice(0, 512),
      ip: client.ip.slice(0, 64),
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.d.sessionTtlSeconds * 1000),
      revokedAt: null,
    });
    const refreshToken = this.addRefreshToken(session.id, user.id);
    user.lastLoginAt = now;
    await this.d.audit?.recordForUser(this.em, user.id, { type: 'user.signed_in', actorType: 'user', actorId: user.id, ip: client.ip, userAgent: client.userAgent, targetType: 'session', targetId: session.id, metadata: { method } });
    await this.em.flush();
    this.remember(session);
    const access = await this.d.tokens.issue({ userId: user.id, sessionId: session.id });
    return { user, session, token, accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken };
  }

  /**
   * Rotate a refresh token: a new pair each time. A spent token presented again within the grace
   * period (a lost response, parallel refreshes) gets a new pair too; after it, it is theft: the
   * whole family (the session) is revoked.
   */
  async refresh(token: string): Promise<TokenPair> {
    const now = this.d.clock.now();
    const rt = token ? await this.em.findOne(RefreshToken, { tokenHash: sha256(token) }) : null;
    if (!rt) throw unauthorized('Invalid refresh token');
    if (rt.revokedAt) throw unauthorized('Refresh token revoked');
    if (rt.expiresAt <= now) throw unauthorized('Refresh token expired');
    if (!(await this.isLive(rt.sessionId))) throw unauthorized('Session ended');
    if (rt.usedAt && now.getTime() - rt.usedAt.getTime() > this.d.refreshReuseGraceSeconds * 1000) {
      await this.revoke(rt.sessionId);
      throw unauthorized('Refresh token already used: the session has been ended for safety');
    }
    if (!rt.usedAt) await this.em.nativeUpdate(RefreshToken, { id: rt.id, usedAt: null }, { usedAt: now });
    const refreshToken = this.addRefreshToken(rt.sessionId, rt.userId);
    const expiresAt = new Date(now.getTime() + this.d.sessionTtlSeconds * 1000);
    await this.em.nativeUpdate(Session, { id: rt.sessionId, revokedAt: null }, { lastSeenAt: now, expiresAt });
    await this.em.flush();
    const state = this.byId.get(rt.sessionId);
    if (state) state.expiresAt = expiresAt.getTime();
    const access = await this.d.tokens.issue({ userId: rt.userId, sessionId: rt.sessionId });
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken };
  }

  /** The live session behind a cookie token, or undefined. Warm: no database round trip. */
  async authenticate(token: string): Promise<SessionInfo | undefined> {
    const hash = sha256(token);
    let ids = this.byToken.get(hash);
    if (!ids) {
      const s = await this.em.findOne(Session, { tokenHash: hash }, { fields: ['id', 'userId', 'expiresAt', 'revokedAt', 'lastSeenAt'] });
      if (!s) return undefined;
      ids = { sessionId: s.id, userId: s.userId };
      this.byToken.set(hash, ids);
      this.remember(s);
      const now = this.d.clock.now();
      if (!s.revokedAt && now.getTime() - s.lastSeenAt.getTime() > TOUCH_AFTER_MS) {
        await this.em.nativeUpdate(Session, { id: s.id }, { lastSeenAt: now });
      }
    }
    const state = await this.state(ids.sessionId);
    return state && this.usable(state) ? { sessionId: ids.sessionId, userId: state.userId, expiresAt: state.expiresAt } : undefined;
  }

  /** True while the session is neither revoked nor expired (access tokens check this). Warm: in memory. */
  async isLive(sessionId: string): Promise<boolean> {
    const state = await this.state(sessionId);
    return !!state && this.usable(state);
  }

  /** The user's live sessions, newest first. */
  async list(userId: string, page: Page): Promise<{ items: Session[]; next: string }> {
    const rows = await this.em.find(
      Session,
      { userId, revokedAt: null, expiresAt: { $gt: this.d.clock.now() }, ...(page.cursor ? { id: { $lt: page.cursor.after } } : {}) },
      { orderBy: { id: 'desc' }, limit: page.size + 1 },
    );
    return cut(rows, page, (s) => s.id);
  }

  /** End one of the user's own live sessions; 404 for anyone else's or an ended one. */
  async revokeOwn(userId: string, sessionId: string, client: ClientInfo): Promise<void> {
    const s = await this.em.findOne(Session, { id: sessionId, userId, revokedAt: null, expiresAt: { $gt: this.d.clock.now() } });
    if (!s) throw notFound('Session');
    await this.revoke(sessionId);
    await this.d.audit?.recordForUser(this.em, userId, { type: 'session.revoked', actorType: 'user', actorId: userId, ip: client.ip, userAgent: client.userAgent, targetType: 'session', targetId: sessionId });
    await this.em.flush();
  }

  /** End a session and its refresh token family. */
  async revoke(sessionId: string): Promise<void> {
    const now = this.d.clock.now();
    await this.em.nativeUpdate(Session, { id: sessionId, revokedAt: null }, { revokedAt: now });
    await this.em.nativeUpdate(RefreshToken, { sessionId, revokedAt: null }, { revokedAt: now });
    const state = this.byId.get(sessionId);
    this.byId.set(sessionId, { userId: state?.userId ?? '', expiresAt: state?.expiresAt ?? 0, revoked: true });
  }

  /** End every session and refresh token of a user (password reset), or all but one (password change). */
  async revokeAllOf(userId: string, exceptSessionId?: string): Promise<void> {
    const now = this.d.clock.now();
    const keep = exceptSessionId ? { id: { $ne: exceptSessionId } } : {};
    const keepRt = exceptSessionId ? { sessionId: { $ne: exceptSessionId } } : {};
    await this.em.nativeUpdate(Session, { userId, revokedAt: null, ...keep }, { revokedAt: now });
    await this.em.nativeUpdate(RefreshToken, { userId, revokedAt: null, ...keepRt }, { revokedAt: now });
    this.byId.deleteWhere((s) => s.userId === userId);
  }

  private addRefreshToken(sessionId: string, userId: string): string {
    const token = randomToken(32);
    const expiresAt = new Date(this.d.clock.now().getTime() + this.d.refreshTokenTtlSeconds * 1000);
    this.em.create(RefreshToken, { sessionId, userId, tokenHash: sha256(token), expiresAt, usedAt: null, revokedAt: null });
    return token;
  }

  private async state(sessionId: string): Promise<SessionState | undefined> {
    const hit = this.byId.get(sessionId);
    if (hit) return hit;
    const s = await this.em.findOne(Session, { id: sessionId }, { fields: ['id', 'userId', 'expiresAt', 'revokedAt'] });
    return s ? this.remember(s) : undefined;
  }

  private remember(s: Pick<Session, 'id' | 'userId' | 'expiresAt' | 'revokedAt'>): SessionState {
    const state = { userId: s.userId, expiresAt: s.expiresAt.getTime(), revoked: !!s.revokedAt };
    this.byId.set(s.id, state);
    return state;
  }

  private usable(s: SessionState): boolean {
    return !s.revoked && s.expiresAt > this.d.clock.now().getTime();
  }
}
