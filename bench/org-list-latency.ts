// Issue 4 figure: ListMembers / ListAuditEvents latency with 10k members and 100k audit events in one
// organization, seeded by SQL into a fresh database on a real PostgreSQL, measured through the real
// server (separate process) over REST with a session cookie.
// Usage: npm run bench -- org-list-latency   (BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test by default)
import pg from 'pg';
import { benchUser, connectJson, type LoadResult, load, report, startServerProcess } from './lib.js';

const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MEMBERS = 10_000;
const EVENTS = 100_000;
const seconds = Number(process.env.BENCH_SECONDS ?? 8);

const dbName = `lk_bench_${Date.now().toString(36)}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`create database ${dbName}`);
const dbUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();

const server = await startServerProcess({ DATABASE_URL: dbUrl });
const db = new pg.Client({ connectionString: dbUrl });
try {
  const { cookie } = await benchUser(server.url);
  const orgs: any = await (await fetch(`${server.url}/api/user/organizations`, { headers: { cookie } })).json();
  const org: string = orgs.data.organizations[0].id;

  await db.connect();
  const t0 = Date.now();
  // Seeded ids sort before the real ones (01B… < 01M…), so the owner's membership stays the newest.
  await db.query(
    `insert into users (id, created_at, updated_at, email, full_name, handle, is_active)
     select '01BENCHU' || lpad(g::text, 18, '0'), now(), now(), 'member' || g || '@bench.example', 'Member ' || g, 'member' || g, true
       from generate_series(1, $1::int) g`,
    [MEMBERS],
  );
  await db.query(
    `insert into memberships (id, created_at, updated_at, organization_id, user_id, role)
     select '01BENCHM' || lpad(g::text, 18, '0'), now() - (g || ' seconds')::interval, now(), $2, '01BENCHU' || lpad(g::text, 18, '0'),
            case when g % 100 = 0 then 'admin' else 'member' end
       from generate_series(1, $1::int) g`,
    [MEMBERS, org],
  );
  const types = [
    'user.signed_in',
    'user.sign_in_failed',
    'session.revoked',
    'member.role_changed',
    'invitation.created',
    'invitation.accepted',
    'api_key.created',
    'api_key.revoked',
    'api_key.regenerated',
    'token.impersonated',
  ];
  await db.query(
    `insert into audit_events (id, created_at, organization_id, type, actor_type, actor_id, target_type, target_id, ip, user_agent, metadata)
     select '01BENCHA' || lpad(g::text, 18, '0'), now() - (($1::int - g) || ' seconds')::interval, $2, ($3::text[])[1 + g % 10], 'user',
            '01BENCHU' || lpad((1 + g % 10000)::text, 18, '0'), 'user', '01BENCHU' || lpad((1 + g % 9973)::text, 18, '0'),
            '203.0.113.' || (g % 250), 'bench/1.0', jsonb_build_object('n', g)
       from generate_series(1, $1::int) g`,
    [EVENTS, org, types],
  );
  await db.query('analyze');
  console.log(`seeded ${MEMBERS} members and ${EVENTS} audit events in ${((Date.now() - t0) / 1000).toFixed(1)} s (database ${dbName})`);

  const base = `${server.url}/api/user/organizations/${org}`;
  const h = { cookie };
  // A page token from deep in each list (page 100 of members, page 1000 of events at size 50).
  const deepToken = async (path: string, pages: number) => {
    let token = '';
    for (let i = 0; i < pages; i++) token = ((await (await fetch(`${base}/${path}?pageSize=200&pageToken=${token}`, { headers: h })).json()) as any).data.nextPageToken;
    return token;
  };
  const membersDeep = await deepToken('members', 25);
  const eventsDeep = await deepToken('audit-events', 250);
  const first: any = await (await fetch(`${base}/members`, { headers: h })).json();
  if (first.data.members.length !== 50) throw new Error(`unexpected ListMembers answer: ${JSON.stringify(first).slice(0, 300)}`);

  const scenarios: [string, string][] = [
    ['ListMembers, first page (50)', `${base}/members`],
    ['ListMembers, page 101 (50, keyset token)', `${base}/members?pageToken=${membersDeep}`],
    ['ListMembers, 200 per page', `${base}/members?pageSize=200`],
    ['ListAuditEvents, first page (50)', `${base}/audit-events`],
    ['ListAuditEvents, page 1001 (50, keyset token)', `${base}/audit-events?pageToken=${eventsDeep}`],
    ['ListAuditEvents, type filter', `${base}/audit-events?type=api_key.revoked`],
    ['ListAuditEvents, time range (last hour)', `${base}/audit-events?startTime=${new Date(Date.now() - 3600_000).toISOString()}`],
  ];
  // One client, one request at a time: latency with sub-millisecond resolution.
  const sequential = async (url: string, n = Number(process.env.BENCH_REQUESTS ?? 2000)) => {
    const ms: number[] = [];
    for (let i = 0; i < n + 100; i++) {
      const t = performance.now();
      const res = await fetch(url, { headers: h });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
      if (i >= 100) ms.push(performance.now() - t); // the first 100 warm up
    }
    ms.sort((a, b) => a - b);
    return { p50: ms[Math.floor(n * 0.5)], p99: ms[Math.floor(n * 0.99)] };
  };
  console.log('\nSequential (1 client, 1 request at a time, 2000 requests after 100 warm-up), REST GET with a session cookie:');
  console.log('| scenario | p50 ms | p99 ms |');
  console.log('|---|---|---|');
  for (const [name, url] of [['no-op GET /healthz', `${server.url}/healthz`], ...scenarios] as [string, string][]) {
    const r = await sequential(url);
    console.log(`| ${name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
  }
  console.log(`\nUnder load (autocannon, 10 connections, ${seconds} s each):`);
  const noop = await load({
    name: 'no-op Health/Check (Connect JSON)',
    url: `${server.url}/grpc.health.v1.Health/Check`,
    method: 'POST',
    headers: connectJson(),
    body: '{}',
    seconds,
    connections: 10,
  });
  const results: LoadResult[] = [noop];
  for (const [name, url] of scenarios) results.push(await load({ name, url, headers: h, seconds, connections: 10 }));
  report(results, noop);
} finally {
  await db.end().catch(() => undefined);
  await server.stop();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
}
