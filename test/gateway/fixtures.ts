// Shared by the gateway tests: the issue's policy, an upstream echo server that records what it
// received, real nginx and Caddy as child processes with their own config in a temp dir, and the
// assertion check against Latchkey's JWKS with jose.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';

export const POLICY = `# The issue's example policy.
roles:
  member: [projects:read]
  admin: [projects:read, projects:write]
routes:
  - match: GET /api/user/organizations/{organization_id}/projects
    scopes: [projects:read]
  - match: POST /api/user/organizations/{organization_id}/projects
    scopes: [projects:write]
  - match: "* /data/**"
    tenant: header
  - match: GET /customer
`;

export async function writePolicy(text = POLICY): Promise<{ file: string; dir: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-policy-'));
  const file = path.join(dir, 'policy.yaml');
  await writeFile(file, text);
  return { file, dir };
}

/** Environment for a Latchkey that guards the policy's routes (keys look like seed 002's at_…). */
export const gatewayEnv = (policyFile: string, extra: Record<string, string> = {}) => ({
  GATEWAY_POLICY: policyFile,
  TRUSTED_PROXIES: '127.0.0.1',
  API_KEY_PREFIX: 'at',
  ...extra,
});

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bytes: number;
}

export interface Echo {
  url: string;
  port: number;
  /** Every request the upstream saw, in order. */
  received: Received[];
  last(): Received;
  /** Bytes of the upload in progress (streamed uploads). */
  uploading: number;
  /** Lets a paused /data/download continue (the client has seen its first bytes). */
  release(): void;
  stop(): Promise<void>;
}

/**
 * The upstream: answers JSON describing the request; POST /data/upload counts the streamed body;
 * GET /data/download?bytes=N streams N bytes, pausing after the first MiB until release();
 * /data/slow never answers.
 */
export async function startEcho(): Promise<Echo> {
  let release: () => void = () => undefined;
  const sockets = new Set<net.Socket>();
  const echo: Echo = {
    url: '',
    port: 0,
    received: [],
    uploading: 0,
    last: () => echo.received[echo.received.length - 1],
    release: () => release(),
    stop: async () => {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = http.createServer(async (req, res) => {
    const rec: Received = { method: req.method!, url: req.url!, headers: req.headers, bytes: 0 };
    echo.received.push(rec);
    if (req.url?.startsWith('/data/slow')) return; // never answers
    if (req.url?.startsWith('/data/download')) {
      const total = Number(new URL(req.url, 'http://x').searchParams.get('bytes'));
      const gate = new Promise<void>((r) => (release = r));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      const chunk = Buffer.alloc(64 * 1024, 7);
      let sent = 0;
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        if (!res.write(chunk.subarray(0, n))) await new Promise((r) => res.once('drain', r));
        sent += n;
        if (sent >= 1024 * 1024 && sent - n < 1024 * 1024) await gate;
      }
      return void res.end();
    }
    echo.uploading = 0;
    for await (const c of req) {
      rec.bytes += (c as Buffer).length;
      echo.uploading = rec.bytes;
    }
    const body = JSON.stringify({ method: req.method, url: req.url, bytes: rec.bytes, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': 'echo' });
    res.end(body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  echo.port = (server.address() as net.AddressInfo).port;
  echo.url = `http://127.0.0.1:${echo.port}`;
  return echo;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export const hasBinary = (name: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

export interface Proxy {
  url: string;
  stop(): Promise<void>;
}

const IDENTITY = ['user_id', 'organization_id', 'scopes', 'key_id', 'actor', 'assertion'];
const headerName = (v: string) =>
  `X-Latchkey-${v
    .split('_')
    .map((w) => (w === 'id' ? 'Id' : w[0].toUpperCase() + w.slice(1)))
    .join('-')}`;

/** The README's nginx configuration, on loopback ports. */
function nginxConfig(dir: string, port: number, latchkeyPort: number, appPort: number, unguarded?: string): string {
  const set = IDENTITY.map((v) => `      auth_request_set $lk_${v} $upstream_http_x_latchkey_${v};\n      proxy_set_header ${headerName(v)} $lk_${v};`).join('\n');
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream latchkey { server 127.0.0.1:${latchkeyPort}; keepalive 16; }
  upstream app { server 127.0.0.1:${appPort}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};${
      unguarded
        ? `
    location ${unguarded} { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://app/; }`
        : ''
    }
    location = /_latchkey {
      internal;
      proxy_pass http://latchkey/api/authz/forward-auth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
    # auth_request passes only 401 and 403 on (anything else is a 500): the real status and the
    # envelope come back in variables, and this location answers with them.
    location @latchkey_refused {
      internal;
      default_type application/json;
      add_header Retry-After $lk_retry_after always;
      add_header RateLimit-Limit $lk_ratelimit_limit always;
      add_header RateLimit-Remaining $lk_ratelimit_remaining always;
      add_header RateLimit-Reset $lk_ratelimit_reset always;
      if ($lk_status = 400) { return 400 $lk_error; }
      if ($lk_status = 401) { return 401 $lk_error; }
      if ($lk_status = 403) { return 403 $lk_error; }
      if ($lk_status = 404) { return 404 $lk_error; }
      if ($lk_status = 429) { return 429 $lk_error; }
      return 502 '{"success":false,"status":502,"code":"UNAVAILABLE","message":"Authorization service unavailable"}';
    }
    location / {
      auth_request /_latchkey;
      auth_request_set $lk_status $upstream_status;
      auth_request_set $lk_error $upstream_http_x_latchkey_error;
      auth_request_set $lk_retry_after $upstream_http_retry_after;
      auth_request_set $lk_ratelimit_limit $upstream_http_ratelimit_limit;
      auth_request_set $lk_ratelimit_remaining $upstream_http_ratelimit_remaining;
      auth_request_set $lk_ratelimit_reset $upstream_http_ratelimit_reset;
      error_page 401 403 500 = @latchkey_refused;
${set}
      proxy_set_header X-Api-Key "";
      proxy_set_header Authorization "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://app;
    }
  }
}
`;
}

/** The README's Caddyfile, on loopback ports, no admin endpoint, no automatic HTTPS. */
function caddyConfig(port: number, latchkeyPort: number, appPort: number): string {
  const names = IDENTITY.map(headerName);
  return `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  route {
    # Caddy keeps a client's header when the auth response lacks it: drop any the client sent.
${names.map((n) => `    request_header -${n}`).join('\n')}
    forward_auth 127.0.0.1:${latchkeyPort} {
      uri /api/authz/forward-auth
      copy_headers ${names.join(' ')}
    }
    request_header -X-Api-Key
    request_header -Authorization
    reverse_proxy 127.0.0.1:${appPort}
  }
}
`;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`proxy exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`proxy did not listen on ${port}: ${log()}`);
}

async function run(cmd: string, args: string[], port: number, dir: string, env: Record<string, string> = {}): Promise<Proxy> {
  let output = '';
  const child = spawn(cmd, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await waitForPort(port, child, () => output);
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `unguarded` (e.g. `/direct/`): a prefix proxied to the upstream without auth_request, as a baseline for benches. */
export async function startNginx(latchkeyPort: number, appPort: number, unguarded?: string): Promise<Proxy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-nginx-'));
  const port = await freePort();
  await writeFile(path.join(dir, 'nginx.conf'), nginxConfig(dir, port, latchkeyPort, appPort, unguarded));
  return run('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], port, dir);
}

export async function startCaddy(latchkeyPort: number, appPort: number): Promise<Proxy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-caddy-'));
  const port = await freePort();
  await writeFile(path.join(dir, 'Caddyfile'), caddyConfig(port, latchkeyPort, appPort));
  // Caddy writes autosave and data under XDG dirs: keep them in the temp dir.
  return run('caddy', ['run', '--config', path.join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], port, dir, { XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir, HOME: dir });
}

/** Verifies X-Latchkey-Assertion as an upstream would: jose, the JWKS URL, issuer and audience. */
export async function verifyAssertion(latchkeyUrl: string, token: string): Promise<JWTPayload> {
  const jwks = createRemoteJWKSet(new URL(`${latchkeyUrl}/.well-known/jwks.json`));
  const { payload } = await jwtVerify(token, jwks, { issuer: latchkeyUrl, audience: 'latchkey-gateway', algorithms: ['EdDSA'], typ: 'latchkey-assertion+jwt' });
  return payload;
}
