// Issue 5 figure: VerifyApiKey latency with 1k and with 1M keys in the table (seeded by SQL), on a
// real PostgreSQL. Cold = the key's first verification (one index probe); warm = from memory.
// Usage: npm run bench -- apikey-scale   (PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/test by
// default: a scratch database is created next to it and dropped at the end)
import pg from 'pg';
import { generateKey } from '../src/modules/apikey/key-format.js';
import { benchUser, connectJson, load, startServerProcess, type BenchServer } from './lib.js';

const ADMIN = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SAMPLE = Number(process.env.BENCH_SAMPLE ?? 500);
const SIZES = (process.env.BENCH_SIZES ?? '1000,1000000').split(',').map(Number);
const dbName = `lk_bench_scale_${Date.now().toString(36)}`;
const dbUrl = Object.assign(new URL(ADMIN), { pathname: `/${dbName}` }).toString();

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

interface Row {
  size: number;
  cold: { p50: number; p99: number };
  warm: { p50: number; p99: number };
  load: { rps: number; p50: number; p99: number };
}

await sql(ADMIN, `create database ${dbName}`);
const rows: Row[] = [];
let owner: { userId: string; orgId: string; cookie: string } | undefined;
try {
  for (const size of SIZES) {
    // A fresh server process per size: nothing cached, the table is what it is.
    const server = await startServerProcess({ DATABASE_URL: dbUrl, SECRET: 'latchkey-bench-secret-0123456789-abcdef' });
    try {
      if (!owner) {
        const u = await benchUser(server.url);
        const orgs = (await (await fetch(`${server.url}/api/user/organizations`, { headers: { cookie: u.cookie } })).json()) as any;
        owner = { userId: u.body.data.user.id, orgId: orgs.data.organizations[0].id, cookie: u.cookie };
      }
      const { orgId, userId } = owner;
      // Sample keys whose plaintext we know, then filler rows up to `size`, all by SQL.
      const sample = Array.from({ length: SAMPLE }, () => generateKey('lk'));
      for (let i = 0; i < sample.length; i += 250) {
        const chunk = sample.slice(i, i + 250);
        const values = chunk.map((_, j) => `('ak_S${size.toString(36).padStart(5, '0')}' || lpad(${i + j}::text, 21, '0'), now(), now(), 'sample', $${j + 1}, 'lk_seed', '${orgId}', '${userId}', '["read"]', '{}')`);
        await sql(dbUrl, `insert into api_keys (id, created_at, updated_at, name, key_hash, start, organization_id, created_by_user_id, scopes, metadata) values ${values.join(', ')}`, chunk.map((k) => k.hash));
      }
      const [{ n }] = await sql<{ n: string }>(dbUrl, 'select count(*) as n from api_keys');
      const from = Number(n) + 1;
      if (from <= size) {
        const t = Date.now();
        await sql(
          dbUrl,
          `insert into api_keys (id, created_at, updated_at, name, key_hash, start, organization_id, created_by_user_id, scopes, metadata)
           select 'ak_F' || lpad(g::text, 25, '0'), now(), now(), 'filler', encode(sha256(convert_to('filler-' || g, 'UTF8')), 'base64'), 'lk_seed', $1, $2, '["read"]', '{}'
             from generate_series($3::int, $4::int) g`,
          [owner.orgId, owner.userId, from, size],
        );
        console.error(`seeded ${size - from + 1} filler keys in ${Date.now() - t} ms`);
      }
      await sql(dbUrl, 'analyze api_keys');
      const caller = (await post(server, '/api/auth/api-key/create', { name: 'caller', scopes: ['introspect'] }, { cookie: owner.cookie, orgid: owner.orgId })).data.key;
      await post(server, '/latchkey.v1.ApiKeyService/VerifyApiKey', { key: sample[0].key }, { 'x-api-key': caller });
      const timed = async (key: string) => {
        const t0 = process.hrtime.bigint();
        const r = await post(server, '/latchkey.v1.ApiKeyService/VerifyApiKey', { key }, { 'x-api-key': caller });
        if (!r.valid) throw new Error(`sample key not valid: ${JSON.stringify(r)}`);
        return Number(process.hrtime.bigint() - t0) / 1e6;
      };
      const cold: number[] = [];
      for (const k of sample.slice(1)) cold.push(await timed(k.key));
      const warm: number[] = [];
      for (const k of sample.slice(1)) warm.push(await timed(k.key));
      const l = await load({ name: `VerifyApiKey warm, ${size} keys`, url: `${server.url}/latchkey.v1.ApiKeyService/VerifyApiKey`, method: 'POST', headers: connectJson({ 'x-api-key': caller }), body: JSON.stringify({ key: sample[1].key }), connections: 10, seconds: Number(process.env.BENCH_SECONDS ?? 5) });
      rows.push({ size, cold: { p50: pct(cold, 50), p99: pct(cold, 99) }, warm: { p50: pct(warm, 50), p99: pct(warm, 99) }, load: { rps: l.rps, p50: l.p50, p99: l.p99 } });
    } finally {
      await server.stop();
    }
  }
} finally {
  await sql(ADMIN, `drop database if exists ${dbName} with (force)`);
}

console.log(`| keys in table | cold p50 / p99 ms (${SAMPLE - 1} first verifications, sequential) | warm p50 / p99 ms (sequential) | warm under load (10 conns): req/s, p50 / p99 ms |`);
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.size} | ${r.cold.p50} / ${r.cold.p99} | ${r.warm.p50} / ${r.warm.p99} | ${r.load.rps.toFixed(0)}, ${r.load.p50} / ${r.load.p99} |`);
if (rows.length === 2) {
  const [a, b] = rows;
  const ratio = (x: number, y: number) => (y ? (x / y).toFixed(2) : 'n/a');
  console.log(`\nratio ${b.size} / ${a.size}: cold p50 ${ratio(b.cold.p50, a.cold.p50)}, cold p99 ${ratio(b.cold.p99, a.cold.p99)}, warm p50 ${ratio(b.warm.p50, a.warm.p50)}, warm p99 ${ratio(b.warm.p99, a.warm.p99)}, under load p50 ${ratio(b.load.p50, a.load.p50)}, p99 ${ratio(b.load.p99, a.load.p99)}`);
}
