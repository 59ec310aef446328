// The built-in gateway: an allowed product request goes to GATEWAY_UPSTREAM with undici, bodies
// streamed both ways (never buffered), hop-by-hop headers dropped, the caller's Latchkey credential
// removed and the identity headers set (any the client sent are replaced). Upstream failures are
// the envelope's 502 (unreachable) or 504 (no answer in GATEWAY_UPSTREAM_TIMEOUT_MS).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';
import { isWellFormedKey } from '../modules/apikey/index.js';
import type { RequestInfo } from '../transport/context.js';
import { SESSION_COOKIE } from '../transport/cookies.js';
import { envelopeError } from '../transport/rest/status.js';
import type { Decision } from './authorizer.js';

type Req = IncomingMessage | Http2ServerRequest;

// RFC 9110 §7.6.1 connection-specific fields, plus the ones HTTP/2 forbids.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings']);

function connectionListed(headers: IncomingHttpHeaders | Record<string, unknown>): Set<string> {
  const c = headers.connection;
  return new Set(
    typeof c === 'string'
      ? c
          .toLowerCase()
          .split(',')
          .map((s) => s.trim())
      : [],
  );
}

/** The Cookie header without Latchkey's session cookie; undefined when nothing else is left. */
export function withoutSessionCookie(cookie: string): string | undefined {
  const kept = cookie
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p && p.split('=', 1)[0].trim() !== SESSION_COOKIE);
  return kept.length ? kept.join('; ') : undefined;
}

/** The headers to send upstream: the client's, minus hop-by-hop, credential and spoofed identity headers. */
function upstreamHeaders(req: Req, decision: Decision, info: RequestInfo): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = connectionListed(req.headers);
  const strip = new Set<string>(decision.credentialHeaders.filter((h) => h !== 'cookie'));
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k.startsWith(':') || HOP_BY_HOP.has(k) || listed.has(k) || k === 'host' || k.startsWith('x-latchkey-') || strip.has(k)) continue;
    if (k === 'authorization' && typeof v === 'string' && isWellFormedKey(v.replace(/^Bearer\s+/i, '').trim())) continue;
    if (k === 'cookie') {
      const c = withoutSessionCookie(Array.isArray(v) ? v.join('; ') : v);
      if (c) out.cookie = c;
      continue;
    }
    out[k] = v;
  }
  const host = req.headers.host ?? req.headers[':authority'];
  if (typeof host === 'string') out['x-forwarded-host'] = host;
  out['x-forwarded-for'] = info.ip;
  out['x-forwarded-proto'] ??= 'http';
  out['x-request-id'] = info.id;
  Object.assign(out, decision.headers);
  return out;
}

function hasBody(req: Req): boolean {
  if ('stream' in req && req.stream) return !req.stream.endAfterHeaders;
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify(envelopeError(status, 'UNAVAILABLE', message));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export class UpstreamProxy {
  private readonly pool: Pool;
  private readonly base: string;

  constructor(upstream: string, timeoutMs: number) {
    const u = new URL(upstream);
    this.base = u.pathname.replace(/\/$/, '');
    this.pool = new Pool(u.origin, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: Math.min(timeoutMs, 10_000), connections: 256 });
  }

  async forward(req: Req, res: ServerResponse, decision: Decision, info: RequestInfo): Promise<void> {
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    let upstream;
    try {
      upstream = await this.pool.request({
        path: this.base + (req.url ?? '/'),
        method: (req.method ?? 'GET') as 'GET',
        headers: upstreamHeaders(req, decision, info),
        body: hasBody(req) ? req : undefined,
        signal: abort.signal,
      });
    } catch (e) {
      if (abort.signal.aborted) return;
      const code = (e as { code?: string }).code;
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return sendError(res, 504, 'Upstream did not answer in time');
      info.log.warn({ err: (e as Error).message, code }, 'gateway upstream failed');
      return sendError(res, 502, 'Upstream unavailable');
    }
    const listed = connectionListed(upstream.headers);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(upstream.headers)) {
      if (v !== undefined && !HOP_BY_HOP.has(k) && !listed.has(k)) headers[k] = v;
    }
    res.writeHead(upstream.statusCode, headers);
    try {
      await pipeline(upstream.body, res);
    } catch (e) {
      // The client went away, or the upstream broke off mid-body: nothing more can be said in HTTP.
      if (!abort.signal.aborted) info.log.warn({ err: (e as Error).message }, 'gateway response stream failed');
      res.destroy();
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
