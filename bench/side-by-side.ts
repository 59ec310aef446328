// Issue 14 figures, one run: bare node:http (a fixed JSON answer), the no-op Health/Check over
// Connect JSON, key-authenticated GET /api/user/me over REST and GetMe by key over gRPC, in
// interleaved rounds, each as a ratio to bare; then p99 at 10 connections, key-auth p99 during a
// 20-connection sign-in flood (scrypt at Better Auth's cost N=2^14, r=16, p=1), JWT issue from a
// session (GET /api/auth/token), key create, and the server's RSS (after start, peak).
// Usage: npm run bench -- side-by-side   (DATABASE_URL=postgres://… for a real PostgreSQL;
// BENCH_SECONDS=5, BENCH_ROUNDS=3, BENCH_CONNECTIONS=50; LATCHKEY_ENTRY=src/main.ts runs the sources through tsx)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchUser, connectJson, interleaved, type LoadResult, load, startServerProcess } from './lib.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);

/** Resident set now and at its peak (VmHWM), MiB, from /proc. */
function rss(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { now: Math.round(kb('VmRSS')), peak: Math.round(kb('VmHWM')) };
}

/** The baseline: bare node:http answering a fixed JSON body, in its own process. */
async function startBare(): Promise<{ url: string; pid: number; stop(): void }> {
  const src = `const b=JSON.stringify({data:{user:{id:'01J0000000000000000000000',email:'bench@example.com',name:'Bench'}},message:'GetMe succeeded'});
require('node:http').createServer((q,s)=>{s.writeHead(200,{'content-type':'application/json'});s.end(b)}).listen(0,'127.0.0.1',function(){console.log(this.address().port)})`;
  const p = spawn(process.execPath, ['-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => p.stdout.once('data', (d) => resolve(String(d).trim())));
  return { url: `http://127.0.0.1:${port}`, pid: p.pid!, stop: () => p.kill() };
}

/** The gRPC load generator (bench/apikey-grpc-load.ts) in its own process. */
function grpcLoad(name: string, args: Record<string, unknown>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'apikey-grpc-load.ts'), JSON.stringify({ connections, seconds, ...args })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`grpc load exited ${code}`));
      const r = JSON.parse(out);
      resolve({ name, rps: r.rps, p50: r.p50, p99: r.p99, non2xx: r.errors, errors: r.errors });
    });
  });
}

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: connectJson(headers), body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

const row = (r: LoadResult, ratio?: string) => `| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx + r.errors} |${ratio === undefined ? '' : ` ${ratio} |`}`;
const load1 = () => os.loadavg()[0].toFixed(2);

const bare = await startBare();
const server = await startServerProcess({
  AUTH_IP_LIMIT: '10000000',
  AUTH_EMAIL_LIMIT: '10000000',
  SCRYPT_LOG_N: '14',
  SCRYPT_R: '16',
  SCRYPT_P: '1',
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
  ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
});
const pid = server.proc.pid!;
try {
  const afterStart = rss(pid);
  const { cookie, email } = await benchUser(server.url);
  const orgs = (await (await fetch(`${server.url}/api/user/organizations`, { headers: { cookie } })).json()) as any;
  const orgid = orgs.data.organizations[0].id;
  const key = (await post(`${server.url}/api/auth/api-key/create`, { name: 'bench caller', scopes: ['user:read'] }, { cookie, orgid })).data.key as string;
  const me = `${server.url}/api/user/me`;
  if (!(await fetch(me, { headers: { 'x-api-key': key } })).ok) throw new Error('key-authenticated GET /api/user/me failed');
  const tokenRes = await fetch(`${server.url}/api/auth/token`, { headers: { cookie } });
  const hasToken = tokenRes.ok;
  await tokenRes.arrayBuffer();

  const http = { connections, seconds };
  const scenarios: (() => Promise<LoadResult>)[] = [
    () => load({ name: 'bare node:http (fixed JSON)', url: `${bare.url}/`, ...http }),
    () => load({ name: 'no-op Health/Check (Connect JSON)', url: `${server.url}/grpc.health.v1.Health/Check`, method: 'POST', headers: connectJson(), body: '{}', ...http }),
    () => load({ name: 'GET /api/user/me by X-Api-Key (REST)', url: me, headers: { 'x-api-key': key }, ...http }),
    () => grpcLoad('GetMe by X-Api-Key (gRPC, h2c)', { url: server.url, service: 'AuthService', method: 'getMe', request: {}, headers: { 'x-api-key': key } }),
  ];
  const startLoad = load1();
  const main = await interleaved(scenarios, rounds);
  const afterLoad = rss(pid);
  console.log(
    `\n${connections} connections, ${seconds} s per run, median of ${rounds} interleaved rounds (after a warm-up round); load average ${startLoad} → ${load1()} on ${os.availableParallelism()} cores`,
  );
  console.log('| scenario | req/s | p50 ms | p99 ms | errors | ratio to bare |\n|---|---|---|---|---|---|');
  for (const r of main) console.log(row(r, (r.rps / main[0].rps).toFixed(3)));

  const ten = { connections: 10, seconds };
  const at10 = await interleaved(
    [() => load({ name: 'bare node:http, 10 conns', url: `${bare.url}/`, ...ten }), () => load({ name: 'GET /api/user/me by key, 10 conns', url: me, headers: { 'x-api-key': key }, ...ten })],
    rounds,
    false,
  );
  console.log(`\np99 at 10 connections (goal: key-auth ≤ 1.5 × bare + 1 ms = ${(1.5 * at10[0].p99 + 1).toFixed(1)} ms); load average ${load1()}`);
  console.log('| scenario | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|');
  for (const r of at10) console.log(row(r));

  const keyAlone = await load({ name: 'GET /api/user/me by key alone, 10 conns', url: me, headers: { 'x-api-key': key }, ...ten });
  const signIn = {
    url: `${server.url}/api/auth/sign-in/email`,
    method: 'POST',
    headers: connectJson(),
    body: JSON.stringify({ email, password: 'a-long-secure-passphrase' }),
    seconds,
    connections: 20,
  };
  // Alone, as Better Auth's figure was taken; then with the key-auth load beside it.
  const signInAlone = await load({ name: 'sign-in alone, 20 conns (scrypt N=2^14 r=16 p=1)', ...signIn });
  const [flood, during] = await Promise.all([
    load({ name: 'sign-in flood beside the key-auth load, 20 conns', ...signIn }),
    load({ name: 'GET /api/user/me by key during the flood, 10 conns', url: me, headers: { 'x-api-key': key }, ...ten }),
  ]);
  console.log(`\nsign-in flood; load average ${load1()}`);
  console.log('| scenario | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|');
  for (const r of [signInAlone, keyAlone, flood, during]) console.log(row(r));
  console.log(`key-auth p99 during the flood / alone: ${(during.p99 / keyAlone.p99).toFixed(2)}× (goal ≤ 2×)`);

  const issue: LoadResult[] = [];
  if (hasToken) issue.push(await load({ name: 'JWT issue: GET /api/auth/token by cookie', url: `${server.url}/api/auth/token`, headers: { cookie }, ...http }));
  issue.push(
    await load({
      name: 'API key create (REST, cookie)',
      url: `${server.url}/api/auth/api-key/create`,
      method: 'POST',
      headers: connectJson({ cookie, orgid }),
      body: JSON.stringify({ name: 'bench', scopes: ['user:read'] }),
      ...http,
    }),
  );
  console.log(`\nwrites and issue, ${connections} connections; load average ${load1()}`);
  console.log('| scenario | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|');
  for (const r of issue) console.log(row(r));
  if (!hasToken) console.log('(GET /api/auth/token not served by this build)');

  const end = rss(pid);
  console.log(
    `\nserver RSS: ${afterStart.now} MiB after start, ${afterLoad.now} MiB after the read load, ${end.now} MiB at the end, peak ${end.peak} MiB; bare node:http peak ${rss(bare.pid).peak} MiB`,
  );
} finally {
  bare.stop();
  await server.stop();
}
