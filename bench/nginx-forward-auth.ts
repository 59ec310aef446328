// Issue 12 figure: what nginx `auth_request` to Latchkey's forward-auth adds over nginx alone, in one
// run: the same echo upstream behind two nginx processes, one plain and one with the README's
// auth_request configuration, loaded with the same API key (p50/p99 and req/s, median round).
// Usage: npm run bench -- nginx-forward-auth   (BENCH_SECONDS=6, BENCH_ROUNDS=3, BENCH_CONNECTIONS=50)
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startEcho, startNginx } from '../test/gateway/fixtures.js';
import { benchUser, connectJson, interleaved, type LoadResult, load, startServerProcess } from './lib.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 6);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** nginx in front of the upstream with no authorisation at all: the baseline. */
async function plainNginx(appPort: number): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-nginx-plain-'));
  const port = await freePort();
  const conf = `daemon off;
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
  upstream app { server 127.0.0.1:${appPort}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://app; }
  }
}
`;
  await writeFile(path.join(dir, 'nginx.conf'), conf);
  const child = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
  for (let i = 0; i < 300; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-bench-policy-'));
const policy = path.join(dir, 'policy.yaml');
await writeFile(policy, 'roles:\n  member: [projects:read]\nroutes:\n  - match: GET /customer\n');
const server = await startServerProcess({ GATEWAY_POLICY: policy, TRUSTED_PROXIES: '127.0.0.1' });
const echo = await startEcho();
const port = Number(new URL(server.url).port);
const authed = await startNginx(port, echo.port);
const plain = await plainNginx(echo.port);
try {
  const { cookie } = await benchUser(server.url);
  const res = await fetch(`${server.url}/api/auth/api-key/create`, { method: 'POST', headers: connectJson({ cookie }), body: JSON.stringify({ name: 'bench', scopes: ['user:read'] }) });
  const key = ((await res.json()) as any).data.key;
  const check = await fetch(`${authed.url}/customer`, { headers: { authorization: `Bearer ${key}` } });
  if (check.status !== 200) throw new Error(`nginx + forward-auth: ${check.status} ${await check.text()}`);

  const http = { connections, seconds };
  const scenarios: (() => Promise<LoadResult>)[] = [
    () => load({ name: 'nginx → upstream (no authorisation)', url: `${plain.url}/customer`, headers: { authorization: `Bearer ${key}` }, ...http }),
    () => load({ name: 'nginx auth_request → Latchkey forward-auth → upstream', url: `${authed.url}/customer`, headers: { authorization: `Bearer ${key}` }, ...http }),
  ];
  const [base, auth] = await interleaved(scenarios, rounds);
  console.log('| scenario | req/s | p50 ms | p99 ms | non-2xx |');
  console.log('|---|---|---|---|---|');
  for (const r of [base, auth]) console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx} |`);
  console.log(`\nadded by Latchkey: p50 +${(auth.p50 - base.p50).toFixed(1)} ms, p99 +${(auth.p99 - base.p99).toFixed(1)} ms, throughput ${(auth.rps / base.rps).toFixed(2)}× of nginx alone`);
  console.log(`${connections} connections, ${seconds} s × ${rounds} rounds, median round`);
} finally {
  await plain.stop();
  await authed.stop();
  await echo.stop();
  await server.stop();
}
