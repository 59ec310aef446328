// AuthService: parse, call the domain, map.
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { AuthService } from '../../../gen/latchkey/v1/auth_pb.js';
import type { Deps } from '../../deps.js';
import { forbidden, unauthorized } from '../../modules/common/errors.js';
import { readPage } from '../../modules/common/page-token.js';
import type { SignedIn } from '../../modules/session/session.service.js';
import { clearedSessionCookie, sessionCookie } from '../cookies.js';
import { toUser } from '../mappers/account.js';
import { toOrganization } from '../mappers/org.js';
import { toSession } from '../mappers/session.js';
import { ts } from '../mappers/time.js';
import { clientOf, principalOf } from './caller.js';

export function authHandlers(deps: Deps): Partial<ServiceImpl<typeof AuthService>> {
  const { accounts, sessions, orgs, config } = deps;

  /** SignIn and RedeemMagicLink answer alike: the cookie, and the access + refresh pair. */
  async function signedIn(s: SignedIn, ctx: HandlerContext) {
    ctx.responseHeader.append('set-cookie', sessionCookie(s.token, config.sessionTtlSeconds, deps.secureCookies));
    return {
      user: toUser(s.user, await orgs.countForUser(s.user.id)),
      accessToken: s.accessToken,
      refreshToken: s.refreshToken,
      accessTokenExpiresAt: ts(s.accessTokenExpiresAt),
      sessionId: s.session.id,
    };
  }

  /** The session a credential stands for; API keys and exchanged tokens have none. */
  function sessionOf(ctx: HandlerContext): { userId: string; sessionId: string; cookie: boolean } {
    const p = principalOf(ctx);
    if ((p.kind === 'session' || p.kind === 'jwt') && p.sessionId) return { userId: p.userId, sessionId: p.sessionId, cookie: p.kind === 'session' };
    throw unauthorized('No session to end: this credential is not a session (API keys are revoked with RevokeApiKey)');
  }

  return {
    async signUp(req, ctx) {
      const { user, organization } = await accounts.signUp({ email: req.email, password: req.password, name: req.name }, clientOf(ctx));
      return { user: toUser(user, 1), organization: toOrganization(organization, 'root_admin') };
    },

    async verifyEmail(req, ctx) {
      const user = await deps.emailVerification.verify(req.token, clientOf(ctx).ip);
      return { user: toUser(user, await orgs.countForUser(user.id)) };
    },

    async signIn(req, ctx) {
      return signedIn(await sessions.signIn(req.email, req.password, clientOf(ctx)), ctx);
    },

    async signOut(_req, ctx) {
      await sessions.revoke(sessionOf(ctx).sessionId);
      ctx.responseHeader.append('set-cookie', clearedSessionCookie(deps.secureCookies));
      return {};
    },

    async requestMagicLink(req, ctx) {
      await deps.magicLinks.request(req.email, req.type, clientOf(ctx).ip);
      return {};
    },

    async redeemMagicLink(req, ctx) {
      return signedIn(await deps.magicLinks.redeem({ token: req.token, email: req.email, code: req.code }, clientOf(ctx)), ctx);
    },

    async refreshAccessToken(req) {
      const pair = await sessions.refresh(req.refreshToken);
      return { accessToken: pair.accessToken, refreshToken: pair.refreshToken, accessTokenExpiresAt: ts(pair.accessTokenExpiresAt) };
    },

    async requestPasswordReset(req, ctx) {
      await deps.passwordReset.request(req.email, clientOf(ctx).ip);
      return {};
    },

    async resetPassword(req, ctx) {
      await deps.passwordReset.reset(req.token, req.newPassword, clientOf(ctx).ip);
      return {};
    },

    async getMe(_req, ctx) {
      const { userId } = principalOf(ctx);
      const { user, organizationCount } = await deps.profiles.get(userId);
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
      const user = await deps.ownAccount.rename(userId, req.fullName);
      deps.profiles.invalidate(userId);
      return { user: toUser(user, await orgs.countForUser(userId)) };
    },

    async getPasswordStatus(_req, ctx) {
      return { hasPassword: await deps.ownAccount.hasPassword(principalOf(ctx).userId) };
    },

    async setPassword(req, ctx) {
      const p = principalOf(ctx);
      // Only the person at the keyboard: no API key, no token exchanged from one.
      if (p.kind === 'apiKey' || (p.kind === 'jwt' && (p.scopes || p.actor))) throw forbidden('Passwords are changed with a session, not an API key');
      await deps.ownAccount.setPassword(p.userId, req.currentPassword, req.newPassword, p.sessionId, clientOf(ctx).ip);
      return {};
    },

    async revokeSession(req, ctx) {
      const p = principalOf(ctx);
      await sessions.revokeOwn(p.userId, req.sessionId, clientOf(ctx));
      // Ending the session this request came with is signing out: clear the cookie too.
      if (p.kind === 'session' && p.sessionId === req.sessionId) ctx.responseHeader.append('set-cookie', clearedSessionCookie(deps.secureCookies));
      return {};
    },
  };
}
