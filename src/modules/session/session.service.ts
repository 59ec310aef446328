// Sessions. A sign-in opens a session and hands out three credentials: a cookie token, a
// short-lived access token (JWT, carrying the session id) and a refresh token (rotating, its
// family is the session). Only SHA-256 hashes are stored. Session state (with the user's suspension)
// is cached so cookie and JWT requests need no database round trip when warm; an ended session or a
// suspended user goes out on the invalidation bus, so every replica refuses it within milliseconds.
import { EventType } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AccountService } from '../account/account.service.js';
import type { PasswordHasher } from '../account/password.js';
import { type User, User as UserEntity } from '../account/user.entity.js';
import { AuditEvent } from '../audit/audit-event.entity.js';
import type { Invalidation, InvalidationBus } from '../common/bus.js';
import { Cache, type CacheContext } from '../common/cache.js';
import type { Clock } from '../common/clock.js';
import { forbidden, notFound, unauthorized } from '../common/errors.js';
import { ulid } from '../common/ids.js';
import { cut, type Page } from '../common/page-token.js';
import { randomToken, sha256 } from '../common/secrets.js';
import { sql, writeAtOnce, written } from '../common/write-at-once.js';
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

export type SignInMethod = 'password' | 'magic_link' | 'magic_code' | 'passkey' | 'sso';

/** Instead of a session: the account has a second factor, and the session starts once it is given. */
export interface SecondFactorChallenge {
  kind: 'challenge';
  user: User;
  token: string;
  expiresAt: Date;
  /** "totp", "recovery_code", "passkey". */
  methods: string[];
}

/** What a first factor (password, magic link) leads to: a session, or a second-factor challenge. */
export type SignInOutcome = SignedIn | SecondFactorChallenge;

/** Decides whether a sign-in needs a second factor first (the mfa module). */
export interface SignInGate {
  gate(user: User, method: SignInMethod): Promise<SecondFactorChallenge | undefined>;
}

export interface SignedIn {
  kind?: 'session';
  user: User;
  session: Session;
  /** Cookie token. */
  token: string;
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  /** The user's organizations, when the sign-in counted them anyway (for the answer's user). */
  organizationCount?: number;
}

export interface TokenPair {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
}

/** What SessionService records in the audit log (deps.audit satisfies it). */
interface SignInAudit {
  recordForUser(
    em: EntityManager,
    userId: string,
    e: {
      type: 'user.signed_in' | 'user.sign_in_failed' | 'session.revoked';
      actorType: 'user';
      actorId: string;
      ip: string;
      userAgent: string;
      targetType?: string;
      targetId?: string;
      metadata?: Record<string, unknown>;
    },
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
  caches: CacheContext;
  /** Ended sessions are announced here; every replica's session caches listen. */
  bus: InvalidationBus;
}

interface SessionState {
  sessionId: string;
  userId: string;
  expiresAt: number;
  revoked: boolean;
  /** False once the user is suspended. */
  userActive: boolean;
  lastSeenAt: number;
}

interface StateRow {
  id: string;
  user_id: string;
  expires_at: Date | string;
  revoked_at: Date | string | null;
  last_seen_at: Date | string;
  is_active: boolean;
}

const CACHE_TTL_MS = 60_000;
/** Unknown cookie tokens are remembered briefly (a client retrying a dead cookie costs no query). */
const NEGATIVE_TTL_MS = 5_000;
const MAX_ENTRIES = 100_000;
const TOUCH_AFTER_MS = 60_000;
const STATE_SQL = `select s.id, s.user_id, s.expires_at, s.revoked_at, s.last_seen_at, u.is_active
  from sessions s join users u on u.id = s.user_id where`;

export class SessionService {
  /** SHA-256 of a cookie token → its session (null = no such session). */
  private readonly byToken: Cache<SessionState | null>;
  /** Session id → state, for access tokens (they carry the session id). */
  private readonly byId: Cache<SessionState | null>;

  constructor(
    private readonly em: EntityManager,
    private readonly d: SessionServiceDeps,
  ) {
    const options = { max: MAX_ENTRIES, ttlMs: CACHE_TTL_MS, ttlOf: (s: SessionState | null) => (s ? CACHE_TTL_MS : NEGATIVE_TTL_MS) };
    this.byToken = new Cache(d.caches, options);
    this.byId = new Cache(d.caches, options);
    d.bus.subscribe((inv) => this.apply(inv));
  }

  private signInGate?: SignInGate;

  /** Install the second-factor gate: sign-ins of users with a second factor get a challenge instead. */
  setGate(gate: SignInGate): void {
    this.signInGate = gate;
  }

  /** After a first factor: a challenge when the gate asks for a second one, else a new session. */
  async open(user: User, client: ClientInfo, method: SignInMethod): Promise<SignInOutcome> {
    const challenge = await this.signInGate?.gate(user, method);
    if (challenge) return challenge; // issuing it flushed the unit of work (an outdated hash re-hashed above)
    return this.start(user, client, method);
  }

  /** When the session last used a second factor (step-up), or null. */
  async secondFactorAt(sessionId: string): Promise<Date | null> {
    const s = await this.em.findOne(Session, { id: sessionId }, { fields: ['id', 'secondFactorAt'] });
    return s?.secondFactorAt ?? null;
  }

  async markSecondFactor(sessionId: string, at: Date): Promise<void> {
    await this.em.nativeUpdate(Session, { id: sessionId }, { secondFactorAt: at });
  }

  async signIn(rawEmail: string, password: string, client: ClientInfo): Promise<SignInOutcome> {
    const email = (rawEmail ?? '').trim().toLowerCase();
    await this.d.throttle.check('sign-in', client.ip, email || undefined);
    const user = email && password ? await this.d.accounts.findWithPassword(email) : null;
    // Same scrypt effort whether or not the account exists.
    const ok = await this.d.passwords.verify(user?.isActive ? user.passwordHash : null, password ?? '');
    if (!user || !ok) {
      if (user) {
        await this.d.audit?.recordForUser(this.em, user.id, {
          type: 'user.sign_in_failed',
          actorType: 'user',
          actorId: user.id,
          ip: client.ip,
          userAgent: client.userAgent,
          metadata: { method: 'password' },
        });
        await this.em.flush();
      }
      throw unauthorized('Invalid email or password', 'SIGN_IN_FAILED');
    }
    if (this.d.requireEmailVerification && !user.verifiedAt) throw forbidden('Verify your email address before signing in: follow the link we emailed you', 'EMAIL_NOT_VERIFIED');
    const rehashed = user.passwordHash && this.d.passwords.outdated(user.passwordHash) ? await this.d.passwords.hash(password) : undefined;
    if (this.signInGate) {
      // A second factor enrolled: a challenge instead of a session (issuing it flushes the re-hash).
      if (rehashed) user.passwordHash = rehashed;
      const challenge = await this.signInGate.gate(user, 'password');
      if (challenge) return challenge;
    }
    return this.startAtOnce(user, client, rehashed);
  }

  /**
   * Password sign-in's writes in one statement: the session, its refresh token, the user's last
   * login (and re-hashed password), the audit event in each of the user's organizations. With the
   * user and membership reads, a sign-in is three statements. (Magic links use start(): their
   * unit of work holds more.)
   */
  private async startAtOnce(user: User, client: ClientInfo, rehashed: string | undefined): Promise<SignedIn> {
    const now = this.d.clock.now();
    const token = randomToken(32);
    const refreshToken = randomToken(32);
    const sessionId = ulid();
    const session = {
      id: sessionId,
      createdAt: now,
      updatedAt: now,
      userId: user.id,
      tokenHash: sha256(token),
      userAgent: client.userAgent.slice(0, 512),
      ip: client.ip.slice(0, 64),
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.d.sessionTtlSeconds * 1000),
      revokedAt: null,
      secondFactorAt: null,
    };
    const writes = [this.em.createQueryBuilder(Session).insert(session), this.em.createQueryBuilder(RefreshToken).insert(this.refreshRow(sessionId, user.id, refreshToken, now))];
    let organizationCount: number | undefined;
    let auditEvents: AuditEvent[] = [];
    if (this.d.audit) {
      // The audit log appends to a unit of work; this one is never flushed: its events go into the statement.
      const scratch = this.em.fork();
      organizationCount = await this.d.audit.recordForUser(scratch, user.id, {
        type: 'user.signed_in',
        actorType: 'user',
        actorId: user.id,
        ip: client.ip,
        userAgent: client.userAgent,
        targetType: 'session',
        targetId: sessionId,
        metadata: { method: 'password' },
      });
      auditEvents = [...scratch.getUnitOfWork().getPersistStack()].filter((e): e is AuditEvent => e instanceof AuditEvent);
      if (auditEvents.length) writes.push(this.em.createQueryBuilder(AuditEvent).insert(auditEvents.map((e) => ({ ...e }))) as never);
    }
    const userWrite = this.em
      .createQueryBuilder(UserEntity)
      .update({ lastLoginAt: now, updatedAt: now, ...(rehashed ? { passwordHash: rehashed } : {}) })
      .where({ id: user.id });
    await writeAtOnce(this.em, [...writes, userWrite]);
    // The answer shows the new values (nothing flushes after this; a flush would write the same ones),
    // and whatever watches users and audit events (the profile cache) hears of the writes.
    Object.assign(user, { lastLoginAt: now, updatedAt: now, ...(rehashed ? { passwordHash: rehashed } : {}) });
    await written(this.em, EventType.afterUpdate, user);
    for (const e of auditEvents) await written(this.em, EventType.afterCreate, e);
    const state: SessionState = { sessionId, userId: user.id, expiresAt: session.expiresAt.getTime(), revoked: false, userActive: user.isActive, lastSeenAt: now.getTime() };
    this.byToken.set(session.tokenHash, state);
    this.byId.set(sessionId, state);
    const access = await this.d.tokens.issue({ userId: user.id, sessionId });
    return { user, session: Object.assign(new Session(), session), token, accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, organizationCount };
  }

  private refreshRow(sessionId: string, userId: string, token: string, now: Date) {
    return {
      id: ulid(),
      createdAt: now,
      updatedAt: now,
      sessionId,
      userId,
      tokenHash: sha256(token),
      expiresAt: new Date(now.getTime() + this.d.refreshTokenTtlSeconds * 1000),
      usedAt: null,
      revokedAt: null,
    };
  }

  /** Open a new session for an authenticated user (new tokens on every sign-in). */
  async start(user: User, client: ClientInfo, method: SignInMethod = 'password', factor: { secondFactorAt?: Date; secondFactor?: string } = {}): Promise<SignedIn> {
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
      secondFactorAt: factor.secondFactorAt ?? null,
    });
    const refreshToken = this.addRefreshToken(session.id, user.id);
    user.lastLoginAt = now;
    await this.d.audit?.recordForUser(this.em, user.id, {
      type: 'user.signed_in',
      actorType: 'user',
      actorId: user.id,
      ip: client.ip,
      userAgent: client.userAgent,
      targetType: 'session',
      targetId: session.id,
      metadata: factor.secondFactor ? { method, secondFactor: factor.secondFactor } : { method },
    });
    await this.em.flush();
    const state = this.stateOf(session, user.isActive);
    this.byToken.set(session.tokenHash, state);
    this.byId.set(session.id, state);
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
    if (!rt) throw unauthorized('Invalid refresh token', 'REFRESH_TOKEN_INVALID');
    if (rt.revokedAt) throw unauthorized('Refresh token revoked', 'REFRESH_TOKEN_REVOKED');
    if (rt.expiresAt <= now) throw unauthorized('Refresh token expired', 'REFRESH_TOKEN_EXPIRED');
    if (!(await this.isLive(rt.sessionId))) throw unauthorized('Session ended', 'REFRESH_TOKEN_INVALID');
    if (rt.usedAt && now.getTime() - rt.usedAt.getTime() > this.d.refreshReuseGraceSeconds * 1000) {
      await this.revoke(rt.sessionId);
      throw unauthorized('Refresh token already used: the session has been ended for safety', 'REFRESH_TOKEN_REUSED');
    }
    // One statement (with the read above, a refresh is two): spend the old token, extend the session
    // and add the new token, only while the session is not revoked.
    const refreshToken = randomToken(32);
    const expiresAt = new Date(now.getTime() + this.d.sessionTtlSeconds * 1000);
    const fresh = this.refreshRow(rt.sessionId, rt.userId, refreshToken, now);
    const spend = rt.usedAt ? [] : [this.em.createQueryBuilder(RefreshToken).update({ usedAt: now }).where({ id: rt.id, usedAt: null })];
    const added = await writeAtOnce(this.em, [
      ...spend,
      sql('update sessions set last_seen_at = ?, expires_at = ? where id = ? and revoked_at is null returning id', [now, expiresAt, rt.sessionId]),
      sql(
        `insert into refresh_tokens (id, created_at, updated_at, session_id, user_id, token_hash, expires_at, used_at, revoked_at)
          select ?, ?, ?, id, ?, ?, ?, null, null from w${spend.length} returning id`,
        [fresh.id, now, now, fresh.userId, fresh.tokenHash, fresh.expiresAt],
      ),
    ]);
    if (!added.length) throw unauthorized('Session ended', 'REFRESH_TOKEN_INVALID');
    this.apply({ sessionId: rt.sessionId }); // its expiry moved: read it again here (others keep the earlier one)
    const access = await this.d.tokens.issue({ userId: rt.userId, sessionId: rt.sessionId });
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken };
  }

  /** The live session behind a cookie token, or undefined. Warm: no database round trip. */
  async authenticate(token: string): Promise<SessionInfo | undefined> {
    const state = await this.byToken.get(sha256(token), (hash) => this.load('s.token_hash = ?', hash));
    return state && this.usable(state) ? { sessionId: state.sessionId, userId: state.userId, expiresAt: state.expiresAt } : undefined;
  }

  /** True while the session is neither revoked nor expired and its user not suspended (access tokens check this). Warm: in memory. */
  async isLive(sessionId: string): Promise<boolean> {
    const state = await this.byId.get(sessionId, (id) => this.load('s.id = ?', id));
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
    await this.d.audit?.recordForUser(this.em, userId, {
      type: 'session.revoked',
      actorType: 'user',
      actorId: userId,
      ip: client.ip,
      userAgent: client.userAgent,
      targetType: 'session',
      targetId: sessionId,
    });
    await this.em.flush();
  }

  /** End a session and its refresh token family. */
  async revoke(sessionId: string): Promise<void> {
    const now = this.d.clock.now();
    await this.em.nativeUpdate(Session, { id: sessionId, revokedAt: null }, { revokedAt: now });
    await this.em.nativeUpdate(RefreshToken, { sessionId, revokedAt: null }, { revokedAt: now });
    this.d.bus.invalidate({ sessionId });
  }

  /** End every session and refresh token of a user (password reset), or all but one (password change). */
  async revokeAllOf(userId: string, exceptSessionId?: string): Promise<void> {
    const now = this.d.clock.now();
    const keep = exceptSessionId ? { id: { $ne: exceptSessionId } } : {};
    const keepRt = exceptSessionId ? { sessionId: { $ne: exceptSessionId } } : {};
    await this.em.nativeUpdate(Session, { userId, revokedAt: null, ...keep }, { revokedAt: now });
    await this.em.nativeUpdate(RefreshToken, { userId, revokedAt: null, ...keepRt }, { revokedAt: now });
    this.d.bus.invalidate({ userId });
  }

  /** Drop cached sessions (from the bus: this replica's changes and every other's). */
  private apply(inv: Invalidation): void {
    if ('all' in inv) {
      this.byToken.clear();
      this.byId.clear();
    } else if ('sessionId' in inv) {
      this.byId.delete(inv.sessionId);
      this.byToken.deleteWhere((s) => s?.sessionId === inv.sessionId);
    } else if ('userId' in inv) {
      this.byId.deleteWhere((s) => s?.userId === inv.userId);
      this.byToken.deleteWhere((s) => s?.userId === inv.userId);
    }
  }

  private addRefreshToken(sessionId: string, userId: string): string {
    const token = randomToken(32);
    const expiresAt = new Date(this.d.clock.now().getTime() + this.d.refreshTokenTtlSeconds * 1000);
    this.em.create(RefreshToken, { sessionId, userId, tokenHash: sha256(token), expiresAt, usedAt: null, revokedAt: null });
    return token;
  }

  /** One query: the session and whether its user is active. Touches last_seen_at when it is old. */
  private async load(where: string, value: string): Promise<SessionState | null> {
    const [row] = await this.em.execute<StateRow[]>(`${STATE_SQL} ${where}`, [value]);
    if (!row) return null;
    const state: SessionState = {
      sessionId: row.id,
      userId: row.user_id,
      expiresAt: new Date(row.expires_at).getTime(),
      revoked: row.revoked_at !== null,
      userActive: row.is_active,
      lastSeenAt: new Date(row.last_seen_at).getTime(),
    };
    const now = this.d.clock.now();
    if (!state.revoked && now.getTime() - state.lastSeenAt > TOUCH_AFTER_MS) {
      await this.em.nativeUpdate(Session, { id: state.sessionId }, { lastSeenAt: now });
      state.lastSeenAt = now.getTime();
    }
    return state;
  }

  private stateOf(s: Session, userActive: boolean): SessionState {
    return { sessionId: s.id, userId: s.userId, expiresAt: s.expiresAt.getTime(), revoked: !!s.revokedAt, userActive, lastSeenAt: s.lastSeenAt.getTime() };
  }

  private usable(s: SessionState): boolean {
    return !s.revoked && s.userActive && s.expiresAt > this.d.clock.now().getTime();
  }
}
