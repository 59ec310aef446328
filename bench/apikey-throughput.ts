// Issue 5 figures: key-authenticated GET /api/user/me and VerifyApiKey at 50 connections, each as a
// ratio to the no-op RPC (Health/Check) measured in the same run with the same load generator.
// Usage: npm run bench -- apikey-throughput   (DATABASE_URL=postgres://… for a real PostgreSQL,
// REDIS_URL=redis://… for shared counters, BENCH_SECONDS=6, BENCH_ROUNDS=3, BENCH_CONNECTIONS=50)
import { spawn } from 'node:child_process';
import path from 'node:path';
import { benchUser, connectJson, interleaved, type LoadResult, load, report, startServerProcess } from './lib.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 6);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const env: Record<string, string> = {};
if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;
if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;

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

const server = await startServerProcess(env);
try {
  const { cookie } = await benchUser(server.url);
  const orgs = (await (await fetch(`${server.url}/api/user/organizations`, { headers: { cookie } })).json()) as any;
  const orgid = orgs.data.organizations[0].id;
  // The caller: a key that may read the user and introspect; the key it verifies: a plain one.
  const caller = (await post(`${server.url}/api/auth/api-key/create`, { name: 'bench caller', scopes: ['user:read', 'introspect'] }, { cookie, orgid })).data.key;
  const target = (await post(`${server.url}/api/auth/api-key/create`, { name: 'bench target', scopes: ['read', 'projects:write'] }, { cookie, orgid })).data.key;
  const verifyBody = JSON.stringify({ key: target });
  // Warm every path once.
  await fetch(`${server.url}/api/user/me`, { headers: { 'x-api-key': caller } });
  await post(`${server.url}/latchkey.v1.ApiKeyService/VerifyApiKey`, { key: target }, { 'x-api-key': caller });

  const http = { connections, seconds };
  // JIT and pools warm up first: a short unreported run of every HTTP scenario.
  const warmup = Number(process.env.BENCH_WARMUP ?? 2);
  if (warmup > 0) {
    for (const [u, m, h, b] of [
      [`${server.url}/grpc.health.v1.Health/Check`, 'POST', connectJson(), '{}'],
      [`${server.url}/api/user/me`, 'GET', { 'x-api-key': caller }, undefined],
      [`${server.url}/api/user/me`, 'GET', { cookie }, undefined],
      [`${server.url}/latchkey.v1.ApiKeyService/VerifyApiKey`, 'POST', connectJson({ 'x-api-key': caller }), verifyBody],
    ] as const) {
      await load({ name: 'warm-up', url: u, method: m, headers: h, body: b, connections, seconds: warmup });
    }
  }
  // Scenarios run in interleaved rounds (no-op, A, B, no-op, A, B, …) so that load from other
  // processes on a shared machine hits them alike; the figure is the median over rounds.
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const httpScenarios: (() => Promise<LoadResult>)[] = [
    () => load({ name: 'no-op Health/Check (Connect JSON, HTTP/1.1)', url: `${server.url}/grpc.health.v1.Health/Check`, method: 'POST', headers: connectJson(), body: '{}', ...http }),
    () => load({ name: 'GET /api/user/me by X-Api-Key (REST)', url: `${server.url}/api/user/me`, headers: { 'x-api-key': caller }, ...http }),
    () => load({ name: 'GET /api/user/me by cookie (REST, reference)', url: `${server.url}/api/user/me`, headers: { cookie }, ...http }),
    () =>
      load({ name: 'POST /api/auth/api-key/verify (REST)', url: `${server.url}/api/auth/api-key/verify`, method: 'POST', headers: connectJson({ 'x-api-key': caller }), body: verifyBody, ...http }),
    () =>
      load({
        name: 'VerifyApiKey (Connect JSON)',
        url: `${server.url}/latchkey.v1.ApiKeyService/VerifyApiKey`,
        method: 'POST',
        headers: connectJson({ 'x-api-key': caller }),
        body: verifyBody,
        ...http,
      }),
  ];
  const httpResults = await interleaved(httpScenarios, rounds, false);
  console.log(`\nHTTP/1.1, autocannon, ${connections} connections, ${seconds} s per run, median of ${rounds} interleaved rounds`);
  report(httpResults, httpResults[0]);

  if (warmup > 0) {
    await grpcLoad('warm-up', { url: server.url, service: 'Health', method: 'check', request: {}, seconds: warmup });
    await grpcLoad('warm-up', { url: server.url, service: 'ApiKeyService', method: 'verifyApiKey', request: { key: target }, headers: { 'x-api-key': caller }, seconds: warmup });
  }
  const grpcResults = await interleaved(
    [
      () => grpcLoad('no-op Health/Check (gRPC)', { url: server.url, service: 'Health', method: 'check', request: {} }),
      () => grpcLoad('VerifyApiKey (gRPC)', { url: server.url, service: 'ApiKeyService', method: 'verifyApiKey', request: { key: target }, headers: { 'x-api-key': caller } }),
      () => grpcLoad('GetMe by X-Api-Key (gRPC)', { url: server.url, service: 'AuthService', method: 'getMe', request: {}, headers: { 'x-api-key': caller } }),
    ],
    rounds,
    false,
  );
  console.log(`\ngRPC over h2c, ${connections} HTTP/2 sessions (one request in flight each), ${seconds} s per run, median of ${rounds} interleaved rounds`);
  report(grpcResults, grpcResults[0]);
} finally {
  await server.stop();
}
