// A CPU profile of the server under key-authenticated GET /api/user/me (REST, 50 connections), and
// its top functions by self time. Usage: npm run bench -- profile-key-auth  (BENCH_SECONDS=10;
// PROFILE_PATH=/api/user/me, PROFILE_BODY='{}' to POST it as JSON, e.g. PROFILE_PATH=/grpc.health.v1.Health/Check; the .cpuprofile stays in PROFILE_DIR, default a temporary directory).
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchUser, load, startServerProcess } from './lib.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

// The load's time span after the server was spawned, ms: only samples in it count (not start-up or shutdown).
const window = [0, 0];
const dir = process.env.PROFILE_DIR ?? (await mkdtemp(path.join(os.tmpdir(), 'latchkey-prof-')));
const spawned = Date.now();
const server = await startServerProcess({ ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}) }, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
try {
  const { cookie } = await benchUser(server.url);
  const orgs = (await (await fetch(`${server.url}/api/user/organizations`, { headers: { cookie } })).json()) as any;
  const orgid = orgs.data.organizations[0].id;
  const created = await fetch(`${server.url}/api/auth/api-key/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, orgid },
    body: JSON.stringify({ name: 'profile', scopes: ['user:read'] }),
  });
  const key = ((await created.json()) as any).data.key;
  const url = `${server.url}${process.env.PROFILE_PATH ?? '/api/user/me'}`;
  window[0] = Date.now() - spawned + 500;
  const body = process.env.PROFILE_BODY;
  // PROFILE_AUTH=cookie sends the session cookie (and orgid) instead of the key, e.g. to profile key create.
  const auth: Record<string, string> = process.env.PROFILE_AUTH === 'cookie' ? { cookie, orgid } : { 'x-api-key': key };
  const headers: Record<string, string> = { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
  const r = await load({ name: 'profiled', url, method: body === undefined ? 'GET' : 'POST', headers, body, connections: 50, seconds: Number(process.env.BENCH_SECONDS ?? 10) });
  window[1] = Date.now() - spawned - 500;
  console.log(`${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, ${r.non2xx} non-2xx (load average ${os.loadavg()[0].toFixed(2)})`);
} finally {
  await server.stop();
}
const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile in ${dir} (did the server exit normally?)`);
const prof = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Profile;
const self = new Map<number, number>();
let at = 0;
prof.samples.forEach((id, i) => {
  at += prof.timeDeltas[i] ?? 0;
  if (at / 1000 >= window[0] && at / 1000 <= window[1]) self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
});
const byName = new Map<string, number>();
let total = 0;
for (const n of prof.nodes) {
  const t = self.get(n.id) ?? 0;
  total += t;
  const where = n.callFrame.url ? `${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/src\//, 'src/')}:${n.callFrame.lineNumber + 1}` : '';
  const name = `${n.callFrame.functionName || '(anonymous)'} ${where}`;
  byName.set(name, (byName.get(name) ?? 0) + t);
}
const idle = [...byName].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
console.log(`profile ${path.join(dir, file)}: ${(total / 1e6).toFixed(1)} s sampled during the load, ${((100 * idle) / total).toFixed(1)} % idle`);
console.log('| self % of busy | function |\n|---|---|');
for (const [name, t] of [...byName]
  .filter(([k]) => !k.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(process.env.PROFILE_TOP ?? 25))) {
  console.log(`| ${((100 * t) / (total - idle)).toFixed(1)} | ${name} |`);
}
