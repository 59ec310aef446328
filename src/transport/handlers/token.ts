// TokenService handlers. SignInWithApiKey is CREDENTIALS_PUBLIC in its access option: it reads its own
// x-api-key / x-api-key-id / x-user-id headers and verifies the key in the exchange module.
import { create } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { JwkSchema, type TokenService } from '../../../gen/latchkey/v1/token_pb.js';
import { forbidden } from '../../modules/common/errors.js';
import { type TokenExchange, TokenIntrospection } from '../../modules/exchange/index.js';
import type { AccessTokens, SigningKeys } from '../../modules/token/index.js';
import { readCookie, SESSION_COOKIE } from '../cookies.js';
import { ts } from '../mappers/time.js';
import { clientOf, principalOf } from './caller.js';

/** The credential the caller authenticated with (same precedence as the Authenticator). */
function ownCredential(ctx: HandlerContext): string {
  const h = ctx.requestHeader;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(h.get('authorization') ?? '')?.[1];
  return h.get('x-api-key') ?? bearer ?? readCookie(h.get('cookie'), SESSION_COOKIE) ?? '';
}

/** What the TokenService handlers call. */
export interface TokenHandlerDeps {
  exchange: TokenExchange;
  introspection: TokenIntrospection;
  signingKeys: SigningKeys;
  accessTokens: AccessTokens;
}

export function tokenHandlers({ exchange, introspection, signingKeys, accessTokens }: TokenHandlerDeps): ServiceImpl<typeof TokenService> {
  return {
    async signInWithApiKey(req, ctx) {
      const h = ctx.requestHeader;
      const issued = await exchange.exchange({
        organization: req.organization,
        apiKey: h.get('x-api-key') ?? undefined,
        apiKeyId: h.get('x-api-key-id') ?? undefined,
        userId: h.get('x-user-id') ?? undefined,
        client: clientOf(ctx),
      });
      ctx.responseHeader.set('cache-control', 'no-store');
      return { idToken: issued.token, expiresAt: ts(issued.expiresAt) };
    },

    async introspectToken(req, ctx) {
      TokenIntrospection.hint(req.tokenTypeHint);
      const i = await introspection.introspect(req.token.trim() || ownCredential(ctx));
      ctx.responseHeader.set('cache-control', 'no-store');
      if (!i.active) return { active: false };
      return {
        active: true,
        scope: i.scopes?.join(' '),
        clientId: i.clientId,
        username: i.username,
        tokenType: i.tokenType,
        exp: i.exp,
        iat: i.iat,
        sub: i.sub,
        iss: i.iss,
        jti: i.jti,
        sid: i.sid,
        orgId: i.orgId,
        act: i.act,
      };
    },

    async getAccessToken(_req, ctx) {
      // The authn interceptor has checked the session (cached: no query); signing needs no write.
      const p = principalOf(ctx);
      if (p.kind !== 'session') throw forbidden('This call needs the session cookie: an access token or an API key is not a session');
      const issued = await accessTokens.issue({ userId: p.userId, sessionId: p.sessionId });
      ctx.responseHeader.set('cache-control', 'no-store');
      return { token: issued.token, expiresAt: ts(issued.expiresAt) };
    },

    getJwks(_req, ctx) {
      // Keys change only on rotation; let JWT libraries cache the set briefly.
      ctx.responseHeader.set('cache-control', 'public, max-age=300');
      return { keys: signingKeys.jwks().map((k) => create(JwkSchema, k)) };
    },
  };
}
