// Issue 5 figure: VerifyApiKey latency with 1k and with 1M keys in the table (seeded by SQL), on a
// real PostgreSQL. Cold = a key's first verification (one index probe); warm = from memory.
// Both tables live in their own scratch database with their own server process, and the two are
// measured in interleaved rounds so that other load on the machine hits them alike.
// Usage: npm run bench -- apikey-scale   (PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/test by
// default: the scratch databases are created next to it and dropped at the end)
import pg from 'pg';
import { generateKey, type NewKey } from '../src/modules/apikey/key-format.js';
import { type BenchServer, benchUser, connectJson, load, startServerProcess } from './lib.js';

const ADMIN = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SAMPLE = Number(process.env.BENCH_SAMPLE ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIZES = (process.env.BENCH_SIZES ?? '1000,1000000').split(',').map(Number);
const stamp = Date.now().toString(36);

async function sql<T = any>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] * 100) / 100;
};

async function post(server: BenchServer, p: string, body: unknown, headers: Record<string, string>): Promise<any> {
  const res = await fetch(server.url + p, { method: 'POST', headers: connectJson(headers), body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
  return res.json();
}

interface Setup {
  size: number;
  dbUrl: string;
  server: BenchServer;
  caller: string;
  sample: NewKey[];
  cold: number[];
  warm: number[];
  db: number[];
  loads: { rps: number; p50: number; p99: number }[];
}

async function setUp(size: number): Promise<Setup> {
  const name = `lk_bench_scale_${stamp}_${size}`;
  await sql(ADMIN, `create database ${name}`);
  const dbUrl = Object.assign(new URL(ADMIN), { pathname: `/${name}` }).toString();
  const server = await startServerProcess({ DATABASE_URL: dbUrl, SECRET: 'latchkey-bench-secret-0123456789-abcdef' });
  const u = await benchUser(server.url);
  const orgs = (await (await fetch(`${server.url}/api/user/organizations`, { headers: { cookie: u.cookie } })).json()) as any;
  const orgId: string = orgs.data.organizations[0].id;
  const userId: string = u.body.data.user.id;
  const caller = (await post(server, '/api/auth/api-key/create', { name: 'caller', scopes: ['introspect'] }, { cookie: u.cookie, orgid: orgId })).data.key;
  // Keys whose plaintext we know, then filler rows up to `size`, all by SQL.
  const sample = Array.from({ length: SAMPLE }, () => generateKey('lk'));
  for (let i = 0; i < sample.length; i += 250) {
    const chunk = sample.slice(i, i + 250);
    const values = chunk.map((_, j) => `('ak_S' || lpad(${i + j}::text, 25, '0'), now(), now(), 'sample', $${j + 1}, 'lk_seed', '${orgId}', '${userId}', '["read"]', '{}')`);
    await sql(
      dbUrl,
      `insert into api_keys (id, created_at, updated_at, name, key_hash, start, organization_id, created_by_user_id, scopes, metadata) values ${values.join(', ')}`,
      chunk.map((k) => k.hash),
    );
  }
  const [{ n }] = await sql<{ n: string }>(dbUrl, 'select count(*) as n from api_keys');
  const t = Date.now();
  await sql(
    dbUrl,
    `insert into api_keys (id, created_at, updated_at, name, key_hash, start, organization_id, created_by_user_id, scopes, metadata)
     select 'ak_F' || lpad(g::text, 25, '0'), now(), now(), 'filler', encode(sha256(convert_to('filler-' || g, 'UTF8')), 'base64'), 'lk_seed', $1, $2, '["read"]', '{}'
       from generate_series($3::int, $4::int) g`,
    [orgId, userId, Number(n) + 1, size],
  );
  await sql(dbUrl, 'vacuum analyze api_keys');
  await sql(dbUrl, 'checkpoint');
  console.error(`${size} keys: seeded in ${Date.now() - t} ms`);
  return { size, dbUrl, server, caller, sample, cold: [], warm: [], db: [], loads: [] };
}

async function verifyTimed(s: Setup, key: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await post(s.server, '/latchkey.v1.ApiKeyService/VerifyApiKey', { key }, { 'x-api-key': s.caller });
  if (!r.valid) throw new Error(`sample key not valid: ${JSON.stringify(r)}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The database's share alone: the cold lookup's index probe, timed from a client. */
async function dbTimed(c: pg.Client, hash: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  await c.query({ name: 'probe', text: 'select id from api_keys where key_hash = $1 or previous_key_hash = $1 limit 2', values: [hash] });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const setups: Setup[] = [];
try {
  for (const size of SIZES) setups.push(await setUp(size));
  await new Promise((r) => setTimeout(r, 3000)); // let the seeding's background work settle
  const chunk = Math.floor(SAMPLE / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of setups) {
      const keys = s.sample.slice(r * chunk, (r + 1) * chunk);
      for (const k of keys) s.cold.push(await verifyTimed(s, k.key));
      for (const k of keys) s.warm.push(await verifyTimed(s, k.key));
      const c = new pg.Client({ connectionString: s.dbUrl });
      await c.connect();
      for (const k of keys) s.db.push(await dbTimed(c, k.hash));
      await c.end();
    }
  }
  for (let r = 0; r < 3; r++) {
    for (const s of setups) {
      const l = await load({
        name: `${s.size}`,
        url: `${s.server.url}/latchkey.v1.ApiKeyService/VerifyApiKey`,
        method: 'POST',
        headers: connectJson({ 'x-api-key': s.caller }),
        body: JSON.stringify({ key: s.sample[0].key }),
        connections: 10,
        seconds: Number(process.env.BENCH_SECONDS ?? 4),
      });
      s.loads.push({ rps: l.rps, p50: l.p50, p99: l.p99 });
    }
  }
} finally {
  for (const s of setups) await s.server.stop();
  for (const s of setups) await sql(ADMIN, `drop database if exists ${new URL(s.dbUrl).pathname.slice(1)} with (force)`);
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fig = (s: Setup) => ({
  cold: { p50: pct(s.cold, 50), p99: pct(s.cold, 99) },
  warm: { p50: pct(s.warm, 50), p99: pct(s.warm, 99) },
  db: { p50: pct(s.db, 50), p99: pct(s.db, 99) },
  load: { rps: med(s.loads.map((l) => l.rps)), p50: med(s.loads.map((l) => l.p50)), p99: med(s.loads.map((l) => l.p99)) },
});
console.log(`| keys in table | VerifyApiKey cold p50 / p99 ms | warm p50 / p99 ms | index probe alone p50 / p99 ms | warm under load (10 conns) req/s, p50 / p99 ms |`);
console.log('|---|---|---|---|---|');
const figs = setups.map((s) => ({ size: s.size, ...fig(s) }));
for (const f of figs)
  console.log(`| ${f.size} | ${f.cold.p50} / ${f.cold.p99} | ${f.warm.p50} / ${f.warm.p99} | ${f.db.p50} / ${f.db.p99} | ${f.load.rps.toFixed(0)}, ${f.load.p50} / ${f.load.p99} |`);
if (figs.length === 2) {
  const [a, b] = figs;
  const q = (x: number, y: number) => (y ? (x / y).toFixed(2) : 'n/a');
  console.log(
    `\nratio ${b.size} / ${a.size} (${SAMPLE} sample keys, ${ROUNDS} interleaved rounds): cold p50 ${q(b.cold.p50, a.cold.p50)}, p99 ${q(b.cold.p99, a.cold.p99)}; warm p50 ${q(b.warm.p50, a.warm.p50)}, p99 ${q(b.warm.p99, a.warm.p99)}; index probe p50 ${q(b.db.p50, a.db.p50)}, p99 ${q(b.db.p99, a.db.p99)}; under load p50 ${q(b.load.p50, a.load.p50)}, p99 ${q(b.load.p99, a.load.p99)}`,
  );
}
