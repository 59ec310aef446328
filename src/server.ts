// One port for every protocol: a plain TCP listener peeks at each connection's first bytes and
// hands HTTP/2 (h2c prior knowledge: gRPC, Connect, gRPC-web) to an http2 server and everything
// else to an http1 server; both run the same request handler.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { DescMethod } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, createConnectRouter, createContextValues, createMethodImplSpec, createServiceImplSpec, type MethodImplSpec } from '@connectrpc/connect';
import type { UniversalHandler, UniversalServerRequest } from '@connectrpc/connect/protocol';
import { compressionBrotli, compressionGzip, universalResponseToNodeResponse } from '@connectrpc/connect-node';
import proxyaddr from 'proxy-addr';
import type { Deps } from './deps.js';
import { gatewayHook } from './gateway/hook.js';
import { listenMetrics, metricsInterceptor, opsRoute } from './ops/routes.js';
import { tracingInterceptor } from './ops/tracing.js';
import { Admission } from './transport/admission.js';
import { createConnectUnary } from './transport/connect-unary.js';
import { createConsole } from './transport/console.js';
import { RequestInfo, requestInfoKey } from './transport/context.js';
import { ssoRoutes } from './transport/handlers/sso-routes.js';
import { authnInterceptor } from './transport/interceptors/authn.js';
import { csrfInterceptor } from './transport/interceptors/csrf.js';
import { errorsInterceptor } from './transport/interceptors/errors.js';
import { ormContextInterceptor } from './transport/interceptors/orm-context.js';
import { stepUpInterceptor } from './transport/interceptors/step-up.js';
import { tenancyInterceptor } from './transport/interceptors/tenancy.js';
import { malformedBodyGate, validationInterceptor } from './transport/interceptors/validation.js';
import { RouteTable } from './transport/rest/route-table.js';
import { envelopeError } from './transport/rest/status.js';
import { createTranscoder, type UnaryImplSpec } from './transport/rest/transcoder.js';
import { routes, SERVICES } from './transport/routes.js';
import { ENCODINGS, encodingHeaderOf, errorResponse, protocolOf, refuseCompressedFrames, requestEncoding, unsupportedEncoding } from './transport/wire-guards.js';

type Req = http.IncomingMessage | http2.Http2ServerRequest;
// The http2 compatibility response has the same methods we use; one type keeps the code simple.
type Res = http.ServerResponse;

const REQUEST_ID_RE = /^[\w.:-]{1,128}$/;
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0');

export interface Server {
  port: number;
  url: string;
  /** The /metrics listener's port when METRICS_PORT is set. */
  metricsPort?: number;
  /** Stop accepting, let in-flight requests finish, close connections. */
  close(): Promise<void>;
}

/** The client address: X-Forwarded-For hops are believed only while they come from TRUSTED_PROXIES. */
function clientIp(req: Req, trust: (addr: string, i: number) => boolean): string {
  const xff = req.headers['x-forwarded-for'];
  let ip: string;
  try {
    ip = typeof xff === 'string' || xff === undefined ? proxyaddr(req as http.IncomingMessage, trust) : (req.socket.remoteAddress ?? '');
  } catch {
    ip = req.socket.remoteAddress ?? ''; // a malformed header is no reason to fail the request
  }
  return ip.replace(/^::ffff:/, '');
}

const isByteStream = (b: unknown): b is AsyncIterable<Uint8Array> => typeof (b as AsyncIterable<Uint8Array> | undefined)?.[Symbol.asyncIterator] === 'function';

/** The path of a request target, also in absolute form ("http://host/path?q"). */
function pathOf(url: string): string {
  const path = url.split('?', 1)[0];
  return /^https?:\/\//i.test(path) ? path.replace(/^https?:\/\/[^/]*/i, '') || '/' : path;
}

// Request ids: a random per-process prefix and a counter (26 characters, [0-9A-Z]); unique across
// replicas by the prefix's 80 random bits, and no random bytes drawn per request.
const ID_PREFIX = randomBytes(10).toString('hex').toUpperCase().slice(0, 16);
let idCounter = 0;
const requestId = () => ID_PREFIX + (++idCounter).toString(32).toUpperCase().padStart(10, '0');

/** A signal that aborts when the connection closes before the answer was sent (never after a normal
 * answer: an abort builds a DOMException, which costs more than the rest of a cached request). */
function abortOnEarlyClose(req: Req, res: Res): AbortSignal {
  const abort = new AbortController();
  res.once('close', () => {
    if (res.writableFinished) return;
    const code = 'stream' in req ? req.stream.rstCode : undefined;
    abort.abort(new ConnectError(code ? `stream reset (code ${code})` : 'client closed the connection', Code.Canceled));
  });
  return abort.signal;
}

/** Connect's view of a Node request; like connect-node's universalRequestFromNodeRequest, with the early-close signal above. */
function universalRequestOf(req: Req, signal: AbortSignal, contextValues: ReturnType<typeof createContextValues>, body?: Uint8Array): UniversalServerRequest {
  const header = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].charCodeAt(0) !== 58 /* ':' */) header.append(raw[i], raw[i + 1]);
  const authority = ('authority' in req ? req.authority : req.headers.host) || 'localhost';
  return {
    httpVersion: req.httpVersion,
    method: req.method ?? '',
    url: `http://${authority}${req.url ?? ''}`,
    header,
    body: body ? once(body) : (req as AsyncIterable<Uint8Array>),
    signal,
    contextValues,
  };
}

/** The router, also noting each unary method's implementation (for the REST transcoder). */
function recordingImplementations(router: ConnectRouter, into: Map<DescMethod, UnaryImplSpec>): ConnectRouter {
  const note = (spec: MethodImplSpec) => spec.kind === 'unary' && into.set(spec.method, spec);
  const recording: ConnectRouter = {
    get handlers() {
      return router.handlers;
    },
    service(service, impl, options) {
      for (const spec of Object.values(createServiceImplSpec(service, impl).methods)) note(spec);
      router.service(service, impl, options);
      return recording;
    },
    rpc(method, impl, options) {
      note(createMethodImplSpec(method, impl) as MethodImplSpec);
      router.rpc(method, impl, options);
      return recording;
    },
  };
  return recording;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

function createRequestHandler(deps: Deps) {
  const { config, log } = deps;
  const implementations = new Map<DescMethod, UnaryImplSpec>();
  // One pipeline for every protocol: the router runs these for gRPC, gRPC-web and Connect, the REST
  // transcoder runs the same list around the same method implementations.
  const interceptors = [
    tracingInterceptor,
    ...(config.metrics ? [metricsInterceptor] : []),
    ormContextInterceptor(deps.db.orm),
    errorsInterceptor,
    validationInterceptor,
    authnInterceptor(deps.authenticator),
    csrfInterceptor(config),
    tenancyInterceptor(deps.orgs, deps.apiKeys.reach, deps.policyGate),
    stepUpInterceptor(deps.mfa),
  ];
  const router = createConnectRouter({
    interceptors,
    readMaxBytes: config.maxBodyBytes,
    requestGate: malformedBodyGate,
    acceptCompression: [compressionGzip, compressionBrotli],
    jsonOptions: { ignoreUnknownFields: true, alwaysEmitImplicit: true },
  });
  routes(deps)(recordingImplementations(router, implementations));
  const handlers = new Map<string, UniversalHandler>(router.handlers.map((h) => [h.requestPath, h]));
  const cors = new Set(config.corsOrigins);
  const trust = proxyaddr.compile(config.trustedProxies);
  const accepted = new Set(ENCODINGS);
  const gateway = gatewayHook(deps); // GATEWAY_POLICY: forward-auth and the built-in gateway
  const serveConsole = createConsole();
  const sso = ssoRoutes(deps); // SSO browser legs: /api/sso/{id}/start, /api/sso/oidc/callback, SAML ACS and metadata
  // Paths no REST route answers: the OAuth provider, the SSO browser legs, forward-auth and policy routes (only where no Latchkey route has the path), then the console.
  const transcode = createTranscoder({
    routes: new RouteTable(SERVICES),
    methods: implementations,
    interceptors,
    maxBodyBytes: config.maxBodyBytes,
    unrouted: async (req, res, path, allow, values) =>
      (await deps.oauth.provider.handle(req as http.IncomingMessage, res, path)) ||
      (await sso(req, res, path, values.get(requestInfoKey)!)) ||
      (!allow && !!gateway && (await gateway(req, res, values.get(requestInfoKey)!))) ||
      serveConsole(req, res, path),
  });
  // Plain Connect unary JSON calls skip connect-node's handler (same interceptors and implementations).
  const connectUnary = createConnectUnary({
    methods: new Map([...implementations.values()].map((spec) => [`/${spec.method.parent.typeName}/${spec.method.name}`, spec])),
    interceptors,
    readMaxBytes: config.maxBodyBytes,
  });
  // Operations endpoints (/metrics, /openapi.json, /docs): see src/ops/routes.ts.
  const ops = opsRoute(deps);

  function setCors(req: Req, res: Res): boolean {
    const origin = req.headers.origin;
    if (!origin || !cors.has(origin)) return false;
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('vary', 'origin');
    res.setHeader('access-control-expose-headers', 'x-request-id, grpc-status, grpc-message, grpc-status-details-bin, ratelimit-limit, ratelimit-remaining, ratelimit-reset, retry-after');
    return true;
  }

  return async function handle(req: Req, res: Res): Promise<void> {
    const sent = req.headers['x-request-id'];
    const id = typeof sent === 'string' && REQUEST_ID_RE.test(sent) ? sent : requestId();
    res.setHeader('x-request-id', id);
    const info = new RequestInfo(id, clientIp(req, trust), String(req.headers['user-agent'] ?? ''), log);
    const path = pathOf(req.url ?? '/');
    try {
      if (setCors(req, res) && req.method === 'OPTIONS') {
        res.writeHead(204, {
          'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
          'access-control-allow-headers': String(req.headers['access-control-request-headers'] ?? '*'),
          'access-control-max-age': '600',
        });
        return void res.end();
      }
      if (path === '/healthz' || path === '/readyz') return await probe(path, res);
      if (ops(path, req, res)) return;
      if (deps.apiKeys.secretScanningRoute(path, req, res, info)) return;
      const contextValues = createContextValues().set(requestInfoKey, info);
      const uHandler = handlers.get(path);
      const signal = abortOnEarlyClose(req, res);
      if (uHandler) {
        const protocol = protocolOf(req.headers['content-type']);
        const direct = protocol === 'connect-unary' ? await connectUnary(req, res, path, contextValues, signal) : {};
        if (direct === true) return;
        const uReq = universalRequestOf(req, signal, contextValues, direct.body);
        if (protocol) {
          const encoding = requestEncoding(protocol, (n) => req.headers[n]);
          // Content codings are case-insensitive (RFC 9110); connect-node matches them exactly.
          if (encoding && accepted.has(encoding)) uReq.header.set(encodingHeaderOf(protocol), encoding);
          if (encoding && !accepted.has(encoding)) {
            const { status, headers, body } = errorResponse(protocol, unsupportedEncoding(protocol, encoding));
            res.writeHead(status, headers);
            return void res.end(body);
          }
          if (!encoding && (protocol === 'grpc' || protocol === 'grpc-web') && isByteStream(uReq.body)) uReq.body = refuseCompressedFrames(uReq.body);
        }
        const uRes = await uHandler(uReq);
        return await universalResponseToNodeResponse(uRes, res);
      }
      await transcode(req, res, contextValues, signal);
    } catch (e) {
      if (ConnectError.from(e).code === Code.Aborted || res.destroyed) return;
      info.log.error({ err: e, path }, 'request failed');
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(envelopeError(500, 'INTERNAL', `Internal error (request id ${id})`)));
      } else res.destroy();
    }
  };

  async function probe(path: string, res: Res): Promise<void> {
    let ok = true;
    if (path === '/readyz') {
      try {
        await deps.db.orm.em.fork().getConnection().execute('select 1');
      } catch {
        ok = false;
      }
    }
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable' }));
  }
}

/** HTTP/2 has no per-request timeout of its own: a stream whose body is still unfinished after
 * the request timeout gets 408 (or a reset, when the answer has started) and is closed. */
function boundH2Request(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, ms: number): void {
  const timer = setTimeout(() => {
    if (req.complete) return;
    if (res.headersSent) return void req.stream.close(http2.constants.NGHTTP2_CANCEL);
    const body = JSON.stringify(envelopeError(408, 'BAD_REQUEST', 'Request body not received in time'));
    res.writeHead(408, { 'content-type': 'application/json' });
    res.end(body, () => req.stream.close(http2.constants.NGHTTP2_NO_ERROR));
  }, ms);
  timer.unref();
  res.once('close', () => clearTimeout(timer));
  res.once('finish', () => {
    clearTimeout(timer);
    // Answered before the body was read: ask the client to stop sending (RFC 9113 §8.1).
    if (!req.complete && !req.stream.closed) req.stream.close(http2.constants.NGHTTP2_NO_ERROR);
  });
}

/** HTTP/1.1: an answer sent before the request body was read (too large, refused) closes the
 * connection instead of reading the rest into the next request; the unread remainder is drained
 * for a moment so the client sees the answer rather than a reset. */
function lingerAfterEarlyAnswer(req: http.IncomingMessage, res: Res): void {
  if (req.headers['transfer-encoding'] === undefined && !(Number(req.headers['content-length']) > 0)) return;
  const socket = req.socket;
  const writeHead = res.writeHead;
  res.writeHead = function (this: Res, ...args: Parameters<Res['writeHead']>) {
    if (!req.complete) this.setHeader('connection', 'close');
    return writeHead.apply(this, args);
  } as Res['writeHead'];
  res.once('finish', () => {
    if (req.complete) return;
    req.resume();
    setTimeout(() => socket.destroy(), 2_000).unref();
  });
}

export async function listen(deps: Deps): Promise<Server> {
  const handle = createRequestHandler(deps);
  const limits = deps.config.http;
  // Probes bypass admission: a load balancer asks whether the process lives, not for a turn.
  const admission = new Admission(limits.maxInFlight, limits.maxInFlightPerConnection);
  const onRequest = (req: Req, res: Res | http2.Http2ServerResponse) => {
    const h2 = req instanceof http2.Http2ServerRequest;
    if (h2) boundH2Request(req, res as http2.Http2ServerResponse, limits.requestTimeoutMs);
    else lingerAfterEarlyAnswer(req, res as Res);
    const url = req.url ?? '';
    if (url === '/healthz' || url === '/readyz') return void handle(req, res as Res);
    const release = admission.admit(h2 ? req.stream.session! : req.socket, () => void handle(req, res as Res));
    res.once('finish', release);
    res.once('close', release);
  };
  // HTTP/1.1: a client must send its headers, then its whole request, within bounded times;
  // the parser's timeout checks run every second so the bounds hold to about a second.
  const h1 = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    onRequest,
  );
  h1.timeout = limits.idleTimeoutMs;
  // Node starts the headers/request timeout checks when a server listens; this one is fed sockets
  // by the TCP listener below and never listens itself, so start them by hand.
  h1.emit('listening');
  // HTTP/2: streams per session, header size and session memory are bounded; a burst of
  // RST_STREAM (rapid reset, CVE-2023-44487) or of SETTINGS/invalid frames ends the session.
  const h2 = http2.createServer(
    {
      settings: { maxConcurrentStreams: limits.h2MaxConcurrentStreams, maxHeaderListSize: limits.h2MaxHeaderListBytes },
      maxSessionMemory: limits.h2MaxSessionMemoryMb,
      maxHeaderListPairs: 128,
      maxSettings: 32,
      maxOutstandingPings: 10,
      maxSessionInvalidFrames: 1000,
      maxSessionRejectedStreams: 100,
      streamResetBurst: 100,
      streamResetRate: 33,
    },
    onRequest,
  );
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
    // An idle session is told to go away; one that ignores GOAWAY is destroyed shortly after.
    s.setTimeout(limits.idleTimeoutMs, () => {
      s.close();
      setTimeout(() => s.destroy(), 1_000).unref();
    });
  });

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // A connection that sends nothing is closed once the headers timeout passes.
    const silent = () => socket.destroy();
    socket.setTimeout(limits.headersTimeoutMs, silent);
    socket.once('readable', () => {
      socket.setTimeout(0);
      socket.off('timeout', silent);
      const head: Buffer | null = socket.read(HTTP2_PREFACE.length) ?? socket.read();
      if (!head) return void socket.destroy();
      socket.unshift(head);
      const isH2 = head.subarray(0, 3).equals(HTTP2_PREFACE.subarray(0, 3));
      if (isH2 && sessions.size >= limits.h2MaxSessions) return void socket.destroy();
      (isH2 ? h2 : h1).emit('connection', socket);
    });
  });
  tcp.maxConnections = limits.maxConnections;

  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(deps.config.port, deps.config.host, () => resolve());
  });
  const port = (tcp.address() as AddressInfo).port;
  const metrics = await listenMetrics(deps);
  const host = deps.config.host.includes(':') ? `[${deps.config.host}]` : deps.config.host;

  return {
    port,
    url: `http://${host}:${port}`,
    metricsPort: metrics?.port,
    async close() {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      await metrics?.close();
      h1.closeIdleConnections();
      for (const s of sessions) s.close(); // GOAWAY: in-flight streams finish, no new ones
      h1.close();
      const deadline = setTimeout(() => sockets.forEach((s) => s.destroy()), 10_000);
      // http1 keep-alive sockets close as their requests finish.
      const drain = setInterval(() => h1.closeIdleConnections(), 100);
      await closed;
      clearInterval(drain);
      clearTimeout(deadline);
    },
  };
}
