// Issue 12 figure: what nginx `auth_request` to Latchkey's forward-auth adds over nginx alone, in one
// run: the same echo upstream behind one nginx, on a plain location and on one with the README's
// auth_request configuration, loaded with the same API key (p50/p99 and req/s, median round).
// Usage: npm run bench -- nginx-forward-auth   (BENCH_SECONDS=6, BENCH_ROUNDS=3, BENCH_CONNECTIONS=50)
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEcho, startNginx } from '../test/gateway/fixtures.js';
import { benchUser, connectJson, interleaved, type LoadResult, load, startServerProcess } from './lib.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 6);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-bench-policy-'));
const policy = path.join(dir, 'policy.yaml');
await writeFile(policy, 'roles:\n  member: [projects:read]\nroutes:\n  - match: GET /customer\n');
const server = await startServerProcess({ GATEWAY_POLICY: policy, TRUSTED_PROXIES: '127.0.0.1' });
const echo = await startEcho();
const port = Number(new URL(server.url).port);
// One nginx: `/customer` goes through auth_request, `/direct/customer` straight to the upstream (the baseline).
const nginx = await startNginx(port, echo.port, '/direct/');
try {
  const { cookie } = await benchUser(server.url);
  const res = await fetch(`${server.url}/api/auth/api-key/create`, { method: 'POST', headers: connectJson({ cookie }), body: JSON.stringify({ name: 'bench', scopes: ['user:read'] }) });
  const key = ((await res.json()) as any).data.key;
  const check = await fetch(`${nginx.url}/customer`, { headers: { authorization: `Bearer ${key}` } });
  if (check.status !== 200) throw new Error(`nginx + forward-auth: ${check.status} ${await check.text()}`);

  const http = { connections, seconds };
  const scenarios: (() => Promise<LoadResult>)[] = [
    () => load({ name: 'nginx → upstream (no authorisation)', url: `${nginx.url}/direct/customer`, headers: { authorization: `Bearer ${key}` }, ...http }),
    () => load({ name: 'nginx auth_request → Latchkey forward-auth → upstream', url: `${nginx.url}/customer`, headers: { authorization: `Bearer ${key}` }, ...http }),
  ];
  const [base, auth] = await interleaved(scenarios, rounds);
  console.log('| scenario | req/s | p50 ms | p99 ms | non-2xx |');
  console.log('|---|---|---|---|---|');
  for (const r of [base, auth]) console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx} |`);
  console.log(`\nadded by Latchkey: p50 +${(auth.p50 - base.p50).toFixed(1)} ms, p99 +${(auth.p99 - base.p99).toFixed(1)} ms, throughput ${(auth.rps / base.rps).toFixed(2)}× of nginx alone`);
  console.log(`${connections} connections, ${seconds} s × ${rounds} rounds, median round`);
} finally {
  await nginx.stop();
  await echo.stop();
  await server.stop();
}
