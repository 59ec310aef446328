// The hook server.ts calls in front of its "No route" 404: forward-auth at FORWARD_AUTH_PATH, and,
// with GATEWAY_UPSTREAM, product requests that match a policy route and no Latchkey route.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { RequestContext } from '@mikro-orm/core';
import proxyaddr from 'proxy-addr';
import type { Deps } from '../deps.js';
import type { RequestInfo } from '../transport/context.js';
import { FORWARD_AUTH_PATH, forwardAuth, headerOf } from './forward-auth.js';
import { gatewayOf } from './gateway.js';
import { refusalOf } from './refusal.js';

type Req = IncomingMessage | Http2ServerRequest;

/** Answers forward-auth and gateway requests; false when the request is not one (or there is no policy). */
export type GatewayHook = (req: Req, res: ServerResponse, info: RequestInfo) => Promise<boolean>;

export function gatewayHook(deps: Deps): GatewayHook | undefined {
  const g = gatewayOf(deps);
  if (!g) return undefined;
  // Compiled once per TRUSTED_PROXIES list (tests swap the list on a running server).
  let compiled: { list: string[]; fn: (addr: string, i: number) => boolean } | undefined;
  const trusted = (addr: string) => {
    if (compiled?.list !== deps.config.trustedProxies) compiled = { list: deps.config.trustedProxies, fn: proxyaddr.compile(deps.config.trustedProxies) };
    return compiled.fn(addr, 0);
  };
  const inContext = <T>(fn: () => Promise<T>) => RequestContext.create(deps.db.orm.em, fn);
  return async (req, res, info) => {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0];
    if (path === FORWARD_AUTH_PATH) {
      await inContext(() => forwardAuth(req, res, info, g.authorizer, trusted));
      return true;
    }
    const method = req.method ?? 'GET';
    if (!g.proxy) return false;
    const matched = g.authorizer.policy.matches(method, path);
    // Called only for paths no Latchkey route answers; a dot segment or encoded slash is refused (400).
    if (matched === 'no') return false;
    let decision;
    try {
      decision = await inContext(() => g.authorizer.authorize({ method, uri: url, header: headerOf(req), siteOrigin: `http://${req.headers.host ?? ''}`, ip: info.ip }));
    } catch (e) {
      const r = refusalOf(e, info.log, info.id);
      for (const [k, v] of r.headers) res.setHeader(k, v);
      res.writeHead(r.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(r.body) });
      res.end(r.body);
      return true;
    }
    await g.proxy.forward(req, res, decision, info);
    return true;
  };
}
