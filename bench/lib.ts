// Bench harness: the server and the load generator (autocannon) run as separate processes,
// and every figure is reported next to a no-op RPC measured in the same run.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface BenchServer {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Start the server in its own process on a free port; embedded database unless DATABASE_URL is given.
 * It runs what production runs, the compiled `dist/src/main.js` (`npm run bench` compiles it first
 * when stale); LATCHKEY_ENTRY=src/main.ts runs the TypeScript sources through tsx instead. */
export async function startServerProcess(env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<BenchServer> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-bench-'));
  const entry = process.env.LATCHKEY_ENTRY ?? 'dist/src/main.js';
  const proc = spawn(process.execPath, [...nodeArgs, ...(entry.endsWith('.ts') ? ['--import', 'tsx', entry] : ['--enable-source-maps', entry])], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', SCRYPT_LOG_N: '12', SCRYPT_P: '1', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    proc,
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

export interface LoadResult {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export interface LoadOptions {
  name: string;
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  connections?: number;
  seconds?: number;
}

/** Run autocannon as a separate process and return its throughput and latency percentiles. */
export function load(o: LoadOptions): Promise<LoadResult> {
  const args = [path.join(ROOT, 'node_modules/autocannon/autocannon.js'), '--json', '-c', String(o.connections ?? 50), '-d', String(o.seconds ?? 10), '-m', o.method ?? 'GET'];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}=${v}`);
  if (o.body !== undefined) args.push('-b', o.body);
  args.push(o.url);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}`));
      const r = JSON.parse(out);
      resolve({ name: o.name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors });
    });
  });
}

/** CPU time (user + system, µs) a process has used so far, from /proc (10 ms resolution). */
export function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000; // utime, stime in clock ticks (100 Hz)
}

export const connectJson = (token?: Record<string, string>) => ({ 'content-type': 'application/json', ...token });

export function report(results: LoadResult[], baseline: LoadResult): void {
  console.log('| scenario | req/s | p50 ms | p99 ms | non-2xx | ratio to no-op |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${(r.rps / baseline.rps).toFixed(2)} |`);
  }
}

/** Sign up and sign in a bench user; returns the session cookie. */
export async function benchUser(url: string): Promise<{ cookie: string; email: string; body: any }> {
  const email = `bench-${Date.now()}@example.com`;
  const password = 'a-long-secure-passphrase';
  const up = await fetch(`${url}/api/auth/sign-up/email`, { method: 'POST', headers: connectJson(), body: JSON.stringify({ email, password, name: 'Bench' }) });
  if (!up.ok) throw new Error(`sign-up failed: ${await up.text()}`);
  const res = await fetch(`${url}/api/auth/sign-in/email`, { method: 'POST', headers: connectJson(), body: JSON.stringify({ email, password }) });
  const cookie = res.headers.getSetCookie()[0].split(';')[0];
  return { cookie, email, body: await res.json() };
}

/** Each scenario `rounds` times, interleaved (after one unreported warm-up round unless told not to); per scenario the run with the median req/s. */
export async function interleaved(scenarios: (() => Promise<LoadResult>)[], rounds: number, warmUp = true): Promise<LoadResult[]> {
  if (warmUp) for (const s of scenarios) await s(); // JIT, caches, pools
  const runs: LoadResult[][] = scenarios.map(() => []);
  for (let r = 0; r < rounds; r++) for (let i = 0; i < scenarios.length; i++) runs[i].push(await scenarios[i]());
  return runs.map((rs) => [...rs].sort((a, b) => a.rps - b.rps)[Math.floor(rs.length / 2)]);
}
