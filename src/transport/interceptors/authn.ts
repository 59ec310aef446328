// Establishes the caller from the request's credential and enforces the RPC's access rule
// (its (latchkey.v1.access) option): which credentials it takes and the scope they need.
// Organization-level rules (tenant, role) are the tenancy interceptor's.
import type { Interceptor } from '@connectrpc/connect';
import { forbidden, unauthorized } from '../../modules/common/errors.js';
import type { Principal } from '../../modules/common/principal.js';
import type { Authenticator } from '../../modules/session/credentials.js';
import { accessOf } from '../access.js';
import { principalKey, requestInfoKey } from '../context.js';
import { readCookie, SESSION_COOKIE } from '../cookies.js';

/** Scopes a principal is limited to; undefined = the user's full rights (session, sign-in JWT). */
function scopesOf(p: Principal): string[] | undefined {
  if (p.kind === 'apiKey') return p.scopes;
  if (p.kind === 'jwt') return p.scopes;
  return undefined;
}

/** An API key, or a token issued from one (SignInWithApiKey): not the user's own sign-in. */
const actsThroughKey = (p: Principal): boolean => p.kind === 'apiKey' || (p.kind === 'jwt' && !!p.actor);

export const authnInterceptor =
  (auth: Authenticator): Interceptor =>
  (next) =>
  async (req) => {
    const access = accessOf(req.method);
    // Public RPCs ignore credentials (SignInWithApiKey reads its own headers).
    if (access.credentials === 'public') return next(req);
    const authorization = req.header.get('authorization');
    let bearer: string | undefined;
    if (authorization) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m) throw unauthorized('Authorization header must be "Bearer <token>"');
      bearer = m[1];
    }
    const principal = await auth.authenticate({
      bearer,
      apiKey: req.header.get('x-api-key') ?? undefined,
      sessionToken: readCookie(req.header.get('cookie'), SESSION_COOKIE),
      ip: req.contextValues.get(requestInfoKey)?.ip,
    });
    if (!principal) throw unauthorized('Missing Authorization header', 'CREDENTIAL_MISSING');
    if (access.credentials === 'signed_in' && actsThroughKey(principal)) {
      throw forbidden('This call needs your own sign-in (a session or a sign-in access token), not an API key or a token issued from one');
    }
    const scopes = scopesOf(principal);
    if (scopes && !scopes.includes(access.scope)) throw forbidden(`Missing scope ${access.scope}`, 'SCOPE_MISSING');
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
