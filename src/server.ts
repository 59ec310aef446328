// One port for every protocol: a plain TCP listener peeks at each connection's first bytes and
// hands HTTP/2 (h2c prior knowledge: gRPC, Connect, gRPC-web) to an http2 server and everything
// else to an http1 server; both run the same request handler.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createConnectRouter, createContextValues, Code, ConnectError } from '@connectrpc/connect';
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node';
import type { UniversalHandler } from '@connectrpc/connect/protocol';
import type { Deps } from './deps.js';
import { ulid } from './modules/common/ids.js';
import { requestInfoKey, type RequestInfo } from './transport/context.js';
import { authnInterceptor } from './transport/interceptors/authn.js';
import { csrfInterceptor } from './transport/interceptors/csrf.js';
import { errorsInterceptor } from './transport/interceptors/errors.js';
import { ormContextInterceptor } from './transport/interceptors/orm-context.js';
import { tenancyInterceptor } from './transport/interceptors/tenancy.js';
import { malformedBodyGate, validationInterceptor } from './transport/interceptors/validation.js';
import { RouteTable } from './transport/rest/route-table.js';
import { envelopeError } from './transport/rest/status.js';
import { createTranscoder } from './transport/rest/transcoder.js';
import { routes, SERVICES } from './transport/routes.js';
import { opsRoute, listenMetrics, metricsInterceptor } from './ops/routes.js';

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

function clientIp(req: Req, trusted: string[]): string {
  const remote = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
  const xff = req.headers['x-forwarded-for'];
  if (xff && trusted.includes(remote)) {
    const hops = (Array.isArray(xff) ? xff.join(',') : xff).split(',').map((s) => s.trim());
    // Walk from the nearest hop back past trusted proxies.
    for (let i = hops.length - 1; i >= 0; i--) if (!trusted.includes(hops[i])) return hops[i];
  }
  return remote;
}

export function createRequestHandler(deps: Deps) {
  const { config, log } = deps;
  const router = createConnectRouter({
    interceptors: [metricsInterceptor, ormContextInterceptor(deps.db.orm), errorsInterceptor, validationInterceptor, authnInterceptor(deps.authenticator), csrfInterceptor(config), tenancyInterceptor(deps.orgs, deps.apiKeys.reach)],
    readMaxBytes: config.maxBodyBytes,
    requestGate: malformedBodyGate,
    acceptCompression: [compressionGzip, compressionBrotli],
    jsonOptions: { ignoreUnknownFields: true, alwaysEmitImplicit: true },
  });
  routes(deps)(router);
  const handlers = new Map<string, UniversalHandler>(router.handlers.map((h) => [h.requestPath, h]));
  const transcode = createTranscoder({ routes: new RouteTable(SERVICES), handlers, maxBodyBytes: config.maxBodyBytes });
  const cors = new Set(config.corsOrigins);
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
    const id = typeof sent === 'string' && REQUEST_ID_RE.test(sent) ? sent : ulid();
    res.setHeader('x-request-id', id);
    const info: RequestInfo = { id, ip: clientIp(req, config.trustedProxies), userAgent: String(req.headers['user-agent'] ?? ''), log: log.child({ reqId: id }) };
    const path = (req.url ?? '/').split('?', 1)[0];
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
      const contextValues = createContextValues().set(requestInfoKey, info);
      const uHandler = handlers.get(path);
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      if (uHandler) {
        const uRes = await uHandler(universalRequestFromNodeRequest(req, res, undefined, contextValues));
        return await universalResponseToNodeResponse(uRes, res);
      }
      await transcode(req, res, contextValues, abort.signal);
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

export async function listen(deps: Deps): Promise<Server> {
  const handle = createRequestHandler(deps);
  const onRequest = (req: Req, res: Res | http2.Http2ServerResponse) => void handle(req, res as Res);
  const h1 = http.createServer({ keepAliveTimeout: 5_000 }, onRequest);
  const h2 = http2.createServer({}, onRequest);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('readable', () => {
      const head: Buffer | null = socket.read(HTTP2_PREFACE.length) ?? socket.read();
      if (!head) return void socket.destroy();
      socket.unshift(head);
      const target = head.subarray(0, 3).equals(HTTP2_PREFACE.subarray(0, 3)) ? h2 : h1;
      target.emit('connection', socket);
    });
  });

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
