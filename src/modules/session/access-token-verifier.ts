// Authorization: Bearer <JWT>: verified offline (signature, exp, nbf, iss, aud) and, for tokens
// issued in a session, refused at once when that session has ended. Warm: no database round trip.
import { unauthorized } from '../common/errors.js';
import type { Principal } from '../common/principal.js';
import { type AccessTokens, looksLikeJwt } from '../token/index.js';
import type { BearerVerifier } from './credentials.js';
import type { SessionService } from './session.service.js';

export class AccessTokenVerifier implements BearerVerifier {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly sessions: SessionService,
  ) {}

  recognises(credential: string): boolean {
    return looksLikeJwt(credential);
  }

  async verify(credential: string): Promise<Principal> {
    const t = await this.tokens.verify(credential);
    if (t.sessionId && !(await this.sessions.isLive(t.sessionId))) throw unauthorized('Session ended: sign in again', 'SESSION_EXPIRED');
    return { kind: 'jwt', userId: t.userId, sessionId: t.sessionId, organizationId: t.organizationId, scopes: t.scopes, actor: t.actor, tokenId: t.tokenId };
  }
}
