// Issue 13: what the Prometheus instrumentation costs the key-authenticated path. Two servers on
// one database, METRICS on and off, loaded in interleaved rounds with GET /api/user/me by key.
// Usage: npm run bench -- metrics-overhead   (DATABASE_URL=postgres://… for a real PostgreSQL;
// BENCH_SECONDS=5, BENCH_ROUNDS=3, BENCH_CONNECTIONS=50; LATCHKEY_ENTRY=src/main.ts runs the sources through tsx)
import os from 'node:os';
import { type BenchServer, benchUser, connectJson, cpuMicros, interleaved, type LoadResult, load, startServerProcess } from './lib.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const db: Record<string, string> = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {};

const on = await startServerProcess({ ...db });
const off = await startServerProcess({ ...db, METRICS: 'false' });
try {
  const keyOf = async (url: string) => {
    const { cookie } = await benchUser(url);
    const orgs = (await (await fetch(`${url}/api/user/organizations`, { headers: { cookie } })).json()) as any;
    const orgid = orgs.data.organizations[0].id;
    const res = await fetch(`${url}/api/auth/api-key/create`, { method: 'POST', headers: connectJson({ cookie, orgid }), body: JSON.stringify({ name: 'bench', scopes: ['user:read'] }) });
    return ((await res.json()) as any).data.key as string;
  };
  const [kOn, kOff] = [await keyOf(on.url), await keyOf(off.url)];
  if ((await (await fetch(`${off.url}/metrics`)).text()).includes('latchkey_build_info')) throw new Error('METRICS=false still serves /metrics');
  const opts = { connections, seconds };
  // Throughput needs a quiet machine; the server's CPU time per request (from /proc) holds up
  // better when other work shares the cores, so both are printed.
  const cpu: Record<string, number[]> = {};
  const measured = (server: BenchServer, name: string, key: string) => async () => {
    const before = cpuMicros(server.proc.pid!);
    const r = await load({ name, url: `${server.url}/api/user/me`, headers: { 'x-api-key': key }, ...opts });
    (cpu[name] ??= []).push((cpuMicros(server.proc.pid!) - before) / (r.rps * seconds));
    return r;
  };
  const [withMetrics, without] = await interleaved([measured(on, 'GET /api/user/me by key, METRICS on', kOn), measured(off, 'GET /api/user/me by key, METRICS=false', kOff)], rounds);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cpuOf = (r: LoadResult) => median(cpu[r.name].slice(1)); // the first run is the warm-up
  console.log(`\n${connections} connections, ${seconds} s per run, median of ${rounds} interleaved rounds; load average ${os.loadavg()[0].toFixed(2)}`);
  console.log('| scenario | req/s | p50 ms | p99 ms | errors | server CPU µs/request |\n|---|---|---|---|---|---|');
  for (const r of [withMetrics, without]) console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx + r.errors} | ${cpuOf(r).toFixed(1)} |`);
  console.log(
    `metrics overhead: ${((1 - withMetrics.rps / without.rps) * 100).toFixed(1)} % of throughput (goal ≤ 3 %), ${((cpuOf(withMetrics) / cpuOf(without) - 1) * 100).toFixed(1)} % more CPU per request`,
  );
} finally {
  await on.stop();
  await off.stop();
}
