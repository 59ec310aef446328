// The browser legs of SSO, beside the RPCs: start (→ IdP), the OIDC callback, the SAML ACS and the
// SP metadata. They answer redirects and small HTML pages, not the REST envelope; a refused sign-in
// is a page that says why and links back to the sign-in page.
import type http from 'node:http';
import type http2 from 'node:http2';
import { RequestContext } from '@mikro-orm/core';
import type { Deps } from '../../deps.js';
import { DomainError, REASONS } from '../../modules/common/errors.js';
import type { Sso } from '../../modules/sso/index.js';
import type { RequestInfo } from '../context.js';
import { readCookie, sessionCookie } from '../cookies.js';

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse;

const PENDING_COOKIE = 'latchkey_sso';
const PENDING_MAX_AGE = 600;
const STATUS: Record<string, number> = { VALIDATION_ERROR: 400, BAD_REQUEST: 400, FAILED_PRECONDITION: 400, UNAUTHORIZED: 401, FORBIDDEN: 403, NOT_FOUND: 404, RATE_LIMITED: 429, UNAVAILABLE: 503 };
const ID = '([0-9A-Z]{26})';
const START = new RegExp(`^/api/sso/${ID}/start$`);
const ACS = new RegExp(`^/api/sso/saml/${ID}/acs$`);
const METADATA = new RegExp(`^/api/sso/saml/${ID}/metadata$`);

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res: Res, status: number, title: string, message: string): void {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1><p role="alert">${escapeHtml(message)}</p><p><a href="/sign-in">Back to sign-in</a></p></main></body></html>`;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'", 'referrer-policy': 'no-referrer' });
  res.end(body);
}

function redirect(res: Res, location: string, cookies: string[] = []): void {
  res.writeHead(302, { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...(cookies.length ? { 'set-cookie': cookies } : {}) });
  res.end();
}

async function readForm(req: Req, limit: number): Promise<URLSearchParams> {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('application/x-www-form-urlencoded')) throw new DomainError('BAD_REQUEST', 'The SAML response must be posted as a form');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new DomainError('BODY_TOO_LARGE', 'Request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Returns true when it answered the request (a path of /api/sso/… that is not an RPC binding). */
export function ssoRoutes(deps: Deps & { sso: Sso }): (req: Req, res: Res, path: string, info: RequestInfo) => Promise<boolean> {
  const { sso, config } = deps;
  const secure = deps.secureCookies;
  const pendingCookie = (value: string, maxAge: number) => `${PENDING_COOKIE}=${value}; Path=/api/sso; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
  const consoleUrl = () => `${config.publicUrl}/`;

  async function signedIn(res: Res, connectionId: string, who: Parameters<Sso['signIn']['complete']>[1], info: RequestInfo, extraCookies: string[]) {
    const c = await sso.connections.enabled(connectionId);
    if (!c) throw new DomainError('NOT_FOUND', 'This SSO connection does not exist or is disabled');
    const s = await sso.signIn.complete(c, who, { ip: info.ip, userAgent: info.userAgent });
    info.log.info({ connectionId, userId: s.user.id }, 'sso sign-in');
    redirect(res, consoleUrl(), [...extraCookies, sessionCookie(s.token, config.sessionTtlSeconds, secure)]);
  }

  async function start(_req: Req, res: Res, connectionId: string, url: URL) {
    const c = await sso.connections.enabled(connectionId);
    if (!c) throw new DomainError('NOT_FOUND', 'This SSO connection does not exist or is disabled');
    const hint = url.searchParams.get('login_hint')?.slice(0, 320) || undefined;
    if (c.kind === 'saml') return redirect(res, await sso.saml.start(c));
    const { url: to, pending } = await sso.oidc.start(c, hint);
    redirect(res, to, [pendingCookie(sso.sealPending(pending), PENDING_MAX_AGE)]);
  }

  async function oidcCallback(req: Req, res: Res, url: URL, info: RequestInfo) {
    const sealed = readCookie(String(req.headers.cookie ?? '') || null, PENDING_COOKIE);
    const pending = sealed ? sso.openPending(sealed) : undefined;
    const clear = pendingCookie('', 0);
    if (!pending) throw new DomainError('SSO_SIGN_IN_FAILED', 'Single sign-on failed: this browser did not start the sign-in (or it expired); start again');
    const c = await sso.connections.enabled(pending.connectionId);
    if (c?.kind !== 'oidc') throw new DomainError('NOT_FOUND', 'This SSO connection does not exist or is disabled');
    const callback = new URL(sso.oidcRedirectUri());
    callback.search = url.search;
    const who = await sso.oidc.finish(c, pending, callback);
    await signedIn(res, c.id, who, info, [clear]);
  }

  async function acs(req: Req, res: Res, connectionId: string, info: RequestInfo) {
    const form = await readForm(req, config.maxBodyBytes);
    const samlResponse = form.get('SAMLResponse');
    if (!samlResponse) throw new DomainError('BAD_REQUEST', 'SAMLResponse is missing');
    const c = await sso.connections.enabled(connectionId);
    if (c?.kind !== 'saml') throw new DomainError('NOT_FOUND', 'This SSO connection does not exist or is disabled');
    const who = await sso.saml.finish(c, samlResponse);
    await signedIn(res, c.id, who, info, []);
  }

  async function metadata(res: Res, connectionId: string) {
    const c = await sso.connections.enabled(connectionId);
    if (c?.kind !== 'saml') throw new DomainError('NOT_FOUND', 'This SSO connection does not exist or is disabled');
    res.writeHead(200, { 'content-type': 'application/samlmetadata+xml; charset=utf-8', 'cache-control': 'no-cache' });
    res.end(sso.saml.metadata(c));
  }

  async function byEmail(res: Res, url: URL) {
    const email = (url.searchParams.get('email') ?? '').trim().toLowerCase().slice(0, 320);
    const r = email ? await sso.connections.route(email) : undefined;
    if (!r) throw new DomainError('NOT_FOUND', 'This email does not sign in with single sign-on');
    redirect(res, sso.signInUrl(r, email));
  }

  return async (req, res, path, info) => {
    if (!path.startsWith('/api/sso/')) return false;
    const get = req.method === 'GET';
    const url = new URL(req.url ?? '/', 'http://localhost');
    let m: RegExpExecArray | null;
    let run: (() => Promise<void>) | undefined;
    if (get && path === '/api/sso/start') run = () => byEmail(res, url);
    else if (get && (m = START.exec(path))) run = () => start(req, res, m![1], url);
    else if (get && path === '/api/sso/oidc/callback') run = () => oidcCallback(req, res, url, info);
    else if (req.method === 'POST' && (m = ACS.exec(path))) run = () => acs(req, res, m![1], info);
    else if (get && (m = METADATA.exec(path))) run = () => metadata(res, m![1]);
    if (!run) return false;
    try {
      await RequestContext.create(deps.db.orm.em, run);
    } catch (e) {
      if (res.headersSent) return (res.destroy(), true);
      if (e instanceof DomainError && e.code !== 'INTERNAL') {
        info.log.info({ reason: e.reason, path }, 'sso refused');
        page(res, e.reason === 'BODY_TOO_LARGE' ? 413 : (STATUS[REASONS[e.reason]] ?? 400), 'Single sign-on', e.message);
      } else {
        info.log.error({ err: e, path }, 'sso route failed');
        page(res, 500, 'Single sign-on', `Something went wrong (request id ${info.id})`);
      }
    }
    return true;
  };
}
