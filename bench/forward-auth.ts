// Issue 12 figure: forward-auth checks/s against key-authenticated GetMe (GET /api/user/me), both
// with the same API key and the same load generator in one run, next to the no-op RPC (goal ≥ 0.9×).
// Usage: npm run bench -- forward-auth   (BENCH_SECONDS=6, BENCH_ROUNDS=3, BENCH_CONNECTIONS=50,
// DATABASE_URL=postgres://…, REDIS_URL=redis://…)
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchUser, connectJson, interleaved, type LoadResult, load, report, startServerProcess } from './lib.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 6);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-bench-policy-'));
const policy = path.join(dir, 'policy.yaml');
await writeFile(policy, 'roles:\n  member: [projects:read]\nroutes:\n  - match: GET /api/user/organizations/{organization_id}/projects\n    scopes: [projects:read]\n');
const env: Record<string, string> = { GATEWAY_POLICY: policy, TRUSTED_PROXIES: '127.0.0.1' };
if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;
if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;

const server = await startServerProcess(env);
// startServerProcess waits 20 s; a loaded machine can take longer to boot.
for (
  let i = 0;
  i < 600 &&
  !(await fetch(`${server.url}/readyz`).then(
    (r) => r.ok,
    () => false,
  ));
  i++
)
  await new Promise((r) => setTimeout(r, 200));
try {
  const { cookie } = await benchUser(server.url);
  const orgs = (await (await fetch(`${server.url}/api/user/organizations`, { headers: { cookie } })).json()) as any;
  const orgid = orgs.data.organizations[0].id;
  const res = await fetch(`${server.url}/api/auth/api-key/create`, {
    method: 'POST',
    headers: connectJson({ cookie }),
    body: JSON.stringify({ name: 'bench', scopes: ['user:read', 'projects:read'] }),
  });
  const key = ((await res.json()) as any).data.key;
  const asked = { 'x-api-key': key, 'x-forwarded-method': 'GET', 'x-forwarded-uri': `/api/user/organizations/${orgid}/projects`, 'x-forwarded-host': 'api.example.com', 'x-forwarded-proto': 'https' };
  const check = await fetch(`${server.url}/api/authz/forward-auth`, { headers: asked });
  if (check.status !== 200) throw new Error(`forward-auth: ${check.status} ${await check.text()}`);

  const http = { connections, seconds };
  const scenarios: (() => Promise<LoadResult>)[] = [
    () => load({ name: 'no-op Health/Check (Connect JSON, HTTP/1.1)', url: `${server.url}/grpc.health.v1.Health/Check`, method: 'POST', headers: connectJson(), body: '{}', ...http }),
    () => load({ name: 'GET /api/user/me by X-Api-Key (key-auth GetMe)', url: `${server.url}/api/user/me`, headers: { 'x-api-key': key }, ...http }),
    () => load({ name: 'GET /api/authz/forward-auth by X-Api-Key (tenant route, scope, assertion)', url: `${server.url}/api/authz/forward-auth`, headers: asked, ...http }),
  ];
  const results = await interleaved(scenarios, rounds);
  report(results, results[0]);
  console.log(`\nforward-auth / key-auth GetMe: ${(results[2].rps / results[1].rps).toFixed(2)}× (goal ≥ 0.9×); ${connections} connections, ${seconds} s × ${rounds} rounds, median round`);
} finally {
  await server.stop();
}
