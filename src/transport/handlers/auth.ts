// AuthService: parse, call the domain, map.
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { AuthService } from '../../../gen/latchkey/v1/auth_pb.js';
import type { AccountService } from '../../modules/account/account.service.js';
import type { EmailVerification } from '../../modules/account/email-verification.js';
import type { OwnAccount } from '../../modules/account/own-account.js';
import type { PasswordReset } from '../../modules/account/password-reset.js';
import type { Profiles } from '../../modules/account/profiles.js';
import { unauthorized } from '../../modules/common/errors.js';
import { readPage } from '../../modules/common/page-token.js';
import type { OrgService } from '../../modules/org/org.service.js';
import type { MagicLinks } from '../../modules/session/magic-links.js';
import type { SessionService, SignInOutcome } from '../../modules/session/session.service.js';
import type { Sso } from '../../modules/sso/index.js';
import { clearedSessionCookie, sessionCookie } from '../cookies.js';
import { toUser } from '../mappers/account.js';
import { toOrganization } from '../mappers/org.js';
import { toSession } from '../mappers/session.js';
import { ts } from '../mappers/time.js';
import { clientOf, principalOf } from './caller.js';

/** What the AuthService handlers call. */
export interface AuthHandlerDeps {
  accounts: AccountService;
  emailVerification: EmailVerification;
  sessions: SessionService;
  magicLinks: MagicLinks;
  passwordReset: PasswordReset;
  profiles: Profiles;
  /** The signed-in user's own name and password (the console's profile page). */
  ownAccount: OwnAccount;
  orgs: OrgService;
  /** The session cookie: lifetime, and Secure unless served on loopback HTTP. */
  cookie: { ttlSeconds: number; secure: boolean };
  /** True when an organization of the user requires a second factor the user has not enrolled. */
  enrolmentRequired?: (userId: string) => Promise<boolean>;
  /** Email-domain routing to an organization's SSO, and "SSO required" domains. */
  sso?: Sso;
}

export function authHandlers(d: AuthHandlerDeps): ServiceImpl<typeof AuthService> {
  const { accounts, sessions, orgs, cookie } = d;

  /** SignIn and RedeemMagicLink answer alike: the cookie, and the access + refresh pair (or a second-factor challenge). */
  async function signedIn(s: SignInOutcome, ctx: HandlerContext) {
    if (s.kind === 'challenge') {
      return { secondFactorChallenge: s.token, secondFactorMethods: s.methods, secondFactorChallengeExpiresAt: ts(s.expiresAt) };
    }
    ctx.responseHeader.append('set-cookie', sessionCookie(s.token, cookie.ttlSeconds, cookie.secure));
    return {
      user: toUser(s.user, s.organizationCount ?? (await orgs.countForUser(s.user.id))),
      accessToken: s.accessToken,
      refreshToken: s.refreshToken,
      accessTokenExpiresAt: ts(s.accessTokenExpiresAt),
      sessionId: s.session.id,
      secondFactorEnrolmentRequired: (await d.enrolmentRequired?.(s.user.id)) ?? false,
    };
  }

  /** The session a credential stands for; API keys and exchanged tokens have none. */
  function sessionOf(ctx: HandlerContext): { userId: string; sessionId: string; cookie: boolean } {
    const p = principalOf(ctx);
    if ((p.kind === 'session' || p.kind === 'jwt') && p.sessionId) return { userId: p.userId, sessionId: p.sessionId, cookie: p.kind === 'session' };
    throw unauthorized('No session to end: this credential is not a session (API keys are revoked with RevokeApiKey)', 'SESSION_REQUIRED');
  }

  /** SSO domains: no password sent → the redirect; "SSO required" → refused with where to go. */
  async function ssoRoute(rawEmail: string, hasPassword: boolean) {
    const sso = d.sso;
    const email = (rawEmail ?? '').trim().toLowerCase();
    if (!sso || !email.includes('@')) return undefined;
    if (hasPassword) return void (await sso.connections.assertPasswordAllowed(email, sso.signInUrl));
    const r = await sso.connections.route(email);
    return r ? { ssoRedirectUrl: sso.signInUrl(r, email), ssoConnectionName: r.connection.name } : undefined;
  }

  return {
    async signUp(req, ctx) {
      await d.sso?.connections.assertPasswordAllowed(req.email, d.sso.signInUrl);
      const { user, organization } = await accounts.signUp({ email: req.email, password: req.password, name: req.name }, clientOf(ctx));
      return { user: toUser(user, 1), organization: toOrganization(organization, 'root_admin') };
    },

    async verifyEmail(req, ctx) {
      const user = await d.emailVerification.verify(req.token, clientOf(ctx).ip);
      return { user: toUser(user, await orgs.countForUser(user.id)) };
    },

    async signIn(req, ctx) {
      const routed = await ssoRoute(req.email, !!req.password);
      if (routed) return routed;
      return signedIn(await sessions.signIn(req.email, req.password, clientOf(ctx)), ctx);
    },

    async signOut(_req, ctx) {
      await sessions.revoke(sessionOf(ctx).sessionId);
      ctx.responseHeader.append('set-cookie', clearedSessionCookie(cookie.secure));
      return {};
    },

    async requestMagicLink(req, ctx) {
      await d.sso?.connections.assertPasswordAllowed(req.email, d.sso.signInUrl);
      await d.magicLinks.request(req.email, req.type, clientOf(ctx).ip);
      return {};
    },

    async redeemMagicLink(req, ctx) {
      if (req.email) await d.sso?.connections.assertPasswordAllowed(req.email, d.sso.signInUrl);
      return signedIn(await d.magicLinks.redeem({ token: req.token, email: req.email, code: req.code }, clientOf(ctx)), ctx);
    },

    async refreshAccessToken(req) {
      const pair = await sessions.refresh(req.refreshToken);
      return { accessToken: pair.accessToken, refreshToken: pair.refreshToken, accessTokenExpiresAt: ts(pair.accessTokenExpiresAt) };
    },

    async requestPasswordReset(req, ctx) {
      await d.passwordReset.request(req.email, clientOf(ctx).ip);
      return {};
    },

    async resetPassword(req, ctx) {
      await d.passwordReset.reset(req.token, req.newPassword, clientOf(ctx).ip);
      return {};
    },

    async getMe(_req, ctx) {
      const { userId } = principalOf(ctx);
      const { user, organizationCount } = await d.profiles.get(userId);
      return { user: toUser(user, organizationCount) };
    },

    async listSessions(req, ctx) {
      const p = principalOf(ctx);
      const { items, next } = await sessions.list(p.userId, readPage(req.pageSize, req.pageToken));
      const current = p.kind === 'apiKey' ? undefined : p.sessionId;
      return { sessions: items.map((s) => toSession(s, current)), nextPageToken: next };
    },

    async updateMe(req, ctx) {
      const { userId } = principalOf(ctx);
      const user = await d.ownAccount.rename(userId, req.fullName);
      d.profiles.invalidate(userId);
      return { user: toUser(user, await orgs.countForUser(userId)) };
    },

    async getPasswordStatus(_req, ctx) {
      return { hasPassword: await d.ownAccount.hasPassword(principalOf(ctx).userId) };
    },

    async setPassword(req, ctx) {
      const p = principalOf(ctx); // a session or sign-in token: the access rule refuses keys and exchanged tokens
      const keep = p.kind === 'apiKey' ? undefined : p.sessionId;
      await d.ownAccount.setPassword(p.userId, req.currentPassword, req.newPassword, keep, clientOf(ctx).ip);
      return {};
    },

    async revokeSession(req, ctx) {
      const p = principalOf(ctx);
      await sessions.revokeOwn(p.userId, req.sessionId, clientOf(ctx));
      // Ending the session this request came with is signing out: clear the cookie too.
      if (p.kind === 'session' && p.sessionId === req.sessionId) ctx.responseHeader.append('set-cookie', clearedSessionCookie(cookie.secure));
      return {};
    },
  };
}
