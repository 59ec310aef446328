// /openapi.json (built once, on first use, from the served descriptors) and /docs, the API
// reference: Swagger UI's bundle (swagger-ui-dist, one package without dependencies) served from
// node_modules on our own origin, under a CSP that allows nothing from anywhere else.
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Deps } from '../deps.js';
import { SERVICES } from '../transport/routes.js';
import { buildOpenApi } from './openapi.js';

type Req = { method?: string; headers: http.IncomingHttpHeaders };
type Res = http.ServerResponse;

interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  /** ETag-free: the versioned bundle changes only with a new release, the document with a restart. */
  cache: string;
}

// Scripts, styles, data and images come from this origin alone (Swagger UI draws its icons as data: SVGs).
const CSP = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"].join('; ');

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Latchkey API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<main id="app"></main>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// No validator badge (it would ask validator.swagger.io): same origin only. "Try it out" sends the
// browser's own session cookie, like the console.
const INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#app',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  withCredentials: true,
});
`;

function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')).version;
    } catch {
      /* the compiled layout is one level deeper */
    }
  }
  return '0.0.0';
}

const asset = (body: string | Buffer, type: string, cache: string): Asset => {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return { body: buf, gzip: gzipSync(buf), type, cache };
};

/** A file of swagger-ui-dist, from wherever node_modules put it. */
function swaggerFile(name: string): Buffer {
  const require = createRequire(import.meta.url);
  return readFileSync(join(dirname(require.resolve('swagger-ui-dist')), name));
}

function send(req: Req, res: Res, a: Asset, extra: Record<string, string> = {}): void {
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? a.gzip : a.body;
  res.writeHead(200, {
    'content-type': a.type,
    'content-length': body.length,
    'cache-control': a.cache,
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    ...extra,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Returns true when it answered the request. */
export function docsRoute(deps: Deps): (path: string, req: Req, res: Res) => boolean {
  const assets = new Map<string, () => Asset>();
  const once = (path: string, make: () => Asset) => {
    let made: Asset | undefined;
    assets.set(path, () => (made ??= make()));
  };
  once('/openapi.json', () => {
    const doc = buildOpenApi(SERVICES, { version: packageVersion(), metricsOnApiPort: deps.config.metricsPort === undefined, forwardAuth: !!deps.config.gateway.policy });
    return asset(JSON.stringify(doc), 'application/json; charset=utf-8', 'no-cache');
  });
  once('/docs', () => asset(HTML, 'text/html; charset=utf-8', 'no-cache'));
  once('/docs/init.js', () => asset(INIT, 'text/javascript; charset=utf-8', 'no-cache'));
  once('/docs/swagger-ui-bundle.js', () => asset(swaggerFile('swagger-ui-bundle.js'), 'text/javascript; charset=utf-8', 'public, max-age=86400'));
  once('/docs/swagger-ui.css', () => asset(swaggerFile('swagger-ui.css'), 'text/css; charset=utf-8', 'public, max-age=86400'));
  const pageHeaders = { 'content-security-policy': CSP, 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'cross-origin-opener-policy': 'same-origin' };
  return (path, req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const key = path === '/docs/' ? '/docs' : path;
    const get = assets.get(key);
    if (!get) return false;
    send(req, res, get(), key === '/docs' ? pageHeaders : {});
    return true;
  };
}
