// /api/authz/forward-auth: a proxy asks before it forwards. The original request is described by
// X-Forwarded-Method/-Uri/-Host/-Proto (Traefik, Caddy) or X-Original-Method/-URI (nginx auth_request);
// its credential headers come along as they are. Allowed: 200 with the identity headers. Refused:
// the status and envelope, the envelope also in X-Latchkey-Error (nginx drops auth bodies).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { DomainError, forbidden } from '../modules/common/errors.js';
import type { RequestInfo } from '../transport/context.js';
import { type Authorizer, IDENTITY_HEADER_NAMES } from './authorizer.js';
import { asHeaderValue, refusalOf } from './refusal.js';

export const FORWARD_AUTH_PATH = '/api/authz/forward-auth';

type Req = IncomingMessage | Http2ServerRequest;

export function headerOf(req: Req): (name: string) => string | undefined {
  return (name) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(name === 'cookie' ? '; ' : ', ') : v;
  };
}

/** The original request the proxy asks about. */
function originalOf(req: Req, trusted: (addr: string) => boolean) {
  const h = headerOf(req);
  const method = h('x-forwarded-method') ?? h('x-original-method');
  let uri = h('x-forwarded-uri') ?? h('x-original-uri');
  const remote = req.socket?.remoteAddress?.replace(/^::ffff:/, '') ?? '';
  if (!trusted(remote)) throw forbidden('Forward-auth answers only proxies listed in TRUSTED_PROXIES');
  if (!method || !uri) {
    throw new DomainError('BAD_REQUEST', 'Forward-auth needs X-Forwarded-Method and X-Forwarded-Uri (Traefik, Caddy) or X-Original-Method and X-Original-URI (nginx)');
  }
  if (/^https?:\/\//i.test(uri)) {
    try {
      const u = new URL(uri);
      uri = u.pathname + u.search;
    } catch {
      throw new DomainError('BAD_REQUEST', 'Malformed forwarded URI');
    }
  }
  const host = h('x-forwarded-host');
  const proto = h('x-forwarded-proto') ?? 'http';
  return { method, uri, siteOrigin: host ? `${proto.split(',')[0].trim()}://${host.split(',')[0].trim()}` : undefined };
}

export async function forwardAuth(req: Req, res: ServerResponse, info: RequestInfo, authorizer: Authorizer, trusted: (addr: string) => boolean): Promise<void> {
  res.setHeader('cache-control', 'no-store');
  try {
    const original = originalOf(req, trusted);
    const decision = await authorizer.authorize({ ...original, header: headerOf(req), ip: info.ip });
    // Every identity header, empty when it does not apply: proxies that copy headers (Caddy 2.6) then
    // copy nothing for it, instead of keeping what the client sent or a literal placeholder.
    const empty = Object.fromEntries(IDENTITY_HEADER_NAMES.map((h) => [h, '']));
    res.writeHead(200, { ...empty, ...decision.headers, 'content-length': '0' });
    res.end();
  } catch (e) {
    const r = refusalOf(e, info.log, info.id);
    for (const [k, v] of r.headers) res.setHeader(k, v);
    res.setHeader('x-latchkey-error', asHeaderValue(r.body));
    res.writeHead(r.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(r.body) });
    res.end(r.body);
  }
}
