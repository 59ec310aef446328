// The operations endpoints served beside the API: /metrics (Prometheus text, or on METRICS_PORT
// instead when set). Plain HTTP GETs answered before any RPC routing.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Deps } from '../deps.js';
import { instrument } from '../metrics/instrument.js';
import { registry } from '../metrics/registry.js';
import { docsRoute } from './docs.js';

export { metricsInterceptor } from '../metrics/interceptor.js';

type Req = { method?: string; headers: http.IncomingHttpHeaders };
type Res = http.ServerResponse;

async function sendMetrics(res: Res): Promise<void> {
  const body = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/** Returns true when it answered the request. */
export function opsRoute(deps: Deps): (path: string, req: Req, res: Res) => boolean {
  if (deps.config.metrics) instrument(deps);
  const onApiPort = deps.config.metrics && deps.config.metricsPort === undefined;
  const docs = docsRoute(deps); // /openapi.json and /docs
  return (path, req, res) => {
    if (docs(path, req, res)) return true;
    if (path === '/metrics' && onApiPort && (req.method === 'GET' || req.method === 'HEAD')) {
      void sendMetrics(res).catch(() => res.destroy());
      return true;
    }
    return false;
  };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** A separate listener for /metrics when METRICS_PORT is set (keeps it off the public port). */
export async function listenMetrics(deps: Deps): Promise<MetricsServer | undefined> {
  if (deps.config.metricsPort === undefined || !deps.config.metrics) return undefined;
  const server = http.createServer((req, res) => {
    if ((req.url ?? '/').split('?', 1)[0] !== '/metrics') return void res.writeHead(404).end();
    void sendMetrics(res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.config.metricsPort, deps.config.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
