// Establishes the caller from the request's credential and enforces the permission table's
// "needs a credential" and scope rules. Organization-level rules live with the org module.
import type { Interceptor } from '@connectrpc/connect';
import { DomainError, forbidden, unauthorized } from '../../modules/common/errors.js';
import type { Principal } from '../../modules/common/principal.js';
import type { Authenticator } from '../../modules/session/credentials.js';
import { principalKey } from '../context.js';
import { readCookie, SESSION_COOKIE } from '../cookies.js';
import { PERMISSIONS } from '../permissions.js';

/** Scopes a principal is limited to; undefined = the user's full rights (session, sign-in JWT). */
function scopesOf(p: Principal): string[] | undefined {
  if (p.kind === 'apiKey') return p.scopes;
  if (p.kind === 'jwt') return p.scopes;
  return undefined;
}

export const authnInterceptor =
  (auth: Authenticator): Interceptor =>
  (next) =>
  async (req) => {
    const access = PERMISSIONS[`${req.service.typeName}.${req.method.name}`];
    if (!access) throw new DomainError('INTERNAL', `No permission entry for ${req.method.name}`);
    const authorization = req.header.get('authorization');
    let bearer: string | undefined;
    if (authorization) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m) throw unauthorized('Authorization header must be "Bearer <token>"');
      bearer = m[1];
    }
    // Public RPCs ignore credentials (SignInWithApiKey reads its own headers).
    const principal =
      access.auth === 'public'
        ? undefined
        : await auth.authenticate({
            bearer,
            apiKey: req.header.get('x-api-key') ?? undefined,
            sessionToken: readCookie(req.header.get('cookie'), SESSION_COOKIE),
          });
    if (access.auth === 'user') {
      if (!principal) throw unauthorized('Missing Authorization header', 'CREDENTIAL_MISSING');
      const scopes = scopesOf(principal);
      if (scopes && !scopes.includes(access.scope)) throw forbidden(`Missing scope ${access.scope}`, 'SCOPE_MISSING');
    }
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
