// AuthService: parse, call the domain, map. Later issues fill in the remaining RPCs.
import type { ServiceImpl } from '@connectrpc/connect';
import type { AuthService } from '../../../gen/latchkey/v1/auth_pb.js';
import type { Deps } from '../../deps.js';
import { clearedSessionCookie, sessionCookie } from '../cookies.js';
import { toUser } from '../mappers/account.js';
import { toOrganization } from '../mappers/org.js';
import { clientOf, principalOf } from './caller.js';

export function authHandlers(deps: Deps): Partial<ServiceImpl<typeof AuthService>> {
  const { accounts, sessions, orgs, config } = deps;
  return {
    async signUp(req) {
      const { user, organization } = await accounts.signUp({ email: req.email, password: req.password, name: req.name });
      return { user: toUser(user, 1), organization: toOrganization(organization, 'root_admin') };
    },

    async signIn(req, ctx) {
      const { user, session, token } = await sessions.signIn(req.email, req.password, clientOf(ctx));
      ctx.responseHeader.append('set-cookie', sessionCookie(token, config.sessionTtlSeconds, deps.secureCookies));
      return { user: toUser(user, await orgs.countForUser(user.id)), sessionId: session.id };
    },

    async signOut(_req, ctx) {
      const p = principalOf(ctx);
      if (p.kind === 'session') await sessions.revoke(p.sessionId);
      if (p.kind === 'jwt' && p.sessionId) await sessions.revoke(p.sessionId);
      ctx.responseHeader.append('set-cookie', clearedSessionCookie(deps.secureCookies));
      return {};
    },

    async getMe(_req, ctx) {
      const { userId } = principalOf(ctx);
      const [user, count] = await Promise.all([accounts.get(userId), orgs.countForUser(userId)]);
      return { user: toUser(user, count) };
    },
  };
}
