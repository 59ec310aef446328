// The console (console/dist, built by `npm run build`) on the API's own port. API paths win: a
// GET is the console's only when no REST route answers GET on that path, so a browser opening an
// emailed link (/magic-link/redirect, /verify-email, …) gets the page and curl still gets the API.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type http from 'node:http';
import type http2 from 'node:http2';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse;

// src/transport/ when run from source, dist/src/transport/ when compiled (npm run build).
const CONSOLE_DIST =
  ['../../console/dist/', '../../../console/dist/'].map((rel) => fileURLToPath(new URL(rel, import.meta.url))).find((d) => existsSync(d)) ??
  fileURLToPath(new URL('../../console/dist/', import.meta.url));

/** Same origin only, no inline script or style, no framing: the console needs nothing else. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Emailed links carry one-time tokens in the query: never hand them to another site.
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
} as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

interface Asset {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  immutable: boolean;
}

/** Every file of the build, in memory (a few hundred KB), gzipped once. */
function load(dir: string): Map<string, Asset> | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const files = new Map<string, Asset>();
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(path);
      else {
        const body = readFileSync(join(dir, path));
        const type = TYPES[extname(e.name)] ?? 'application/octet-stream';
        const compressible = /text|json|svg/.test(type) && body.length > 512;
        // Vite names every file under assets/ by its content hash.
        files.set(path, { body, type, gzip: compressible ? gzipSync(body) : undefined, immutable: rel.startsWith('/assets') });
      }
    }
  };
  walk('');
  return files;
}

export function createConsole(dir = CONSOLE_DIST) {
  let files: Map<string, Asset> | undefined;

  function send(req: Req, res: Res, asset: Asset, status = 200): void {
    const gz = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gz ? asset.gzip! : asset.body;
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': asset.type,
      'content-length': body.length,
      'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      vary: 'accept-encoding',
      ...(gz ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** Answers the request and returns true when it is the console's; false leaves it to the API. */
  return function serveConsole(req: Req, res: Res, path: string): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    files ??= load(dir);
    if (!files) return false; // not built: the API's 404 stands
    const file = files.get(path === '/' ? '/index.html' : path);
    if (file) return (send(req, res, file), true);
    // API namespaces and Connect service paths (/latchkey.v1.AuthService/…) never fall back.
    if (/^\/(api|assets|v\d+|\.well-known)(\/|$)/.test(path) || path.split('/')[1].includes('.')) return false;
    // A client-side route (/verify-email, /invitations/…): the page, for browsers only.
    if (!String(req.headers.accept ?? '').includes('text/html')) return false;
    return (send(req, res, files.get('/index.html')!), true);
  };
}
