// Issue 15 figures: the OAuth provider's client_credentials token endpoint and its introspection
// endpoint (a JWT access token) at 50 connections, next to the no-op RPC (Health/Check) in the same
// run; and Latchkey's API with that token as Bearer (offline verification, warm cache).
// Usage: npm run bench -- oauth   (DATABASE_URL=postgres://…, BENCH_SECONDS=5, BENCH_ROUNDS=2, BENCH_CONNECTIONS=50)
import { benchUser, connectJson, interleaved, type LoadResult, load, report, startServerProcess } from './lib.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const env: Record<string, string> = {};
if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;

const server = await startServerProcess(env);
try {
  // On a busy machine start-up can outlast the harness's own wait: wait longer for /readyz.
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
  const { cookie } = await benchUser(server.url);
  const orgs = (await (await fetch(`${server.url}/api/user/organizations`, { headers: { cookie } })).json()) as any;
  const orgid: string = orgs.data.organizations[0].id;
  const created = await fetch(`${server.url}/api/oauth/clients`, {
    method: 'POST',
    headers: connectJson({ cookie, orgid }),
    body: JSON.stringify({ name: 'bench', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes: ['orgs:read'] }),
  });
  if (!created.ok) throw new Error(`create client: ${created.status} ${await created.text()}`);
  const { client, clientSecret } = ((await created.json()) as any).data;
  const basic = `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}`;
  const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic };
  const tokenBody = 'grant_type=client_credentials&scope=orgs%3Aread';
  const t = await fetch(`${server.url}/oauth/token`, { method: 'POST', headers: form, body: tokenBody });
  if (!t.ok) throw new Error(`token: ${t.status} ${await t.text()}`);
  const accessToken: string = ((await t.json()) as any).access_token;
  const introspectBody = `token=${accessToken}`;
  const i = (await (await fetch(`${server.url}/oauth/introspect`, { method: 'POST', headers: form, body: introspectBody })).json()) as any;
  if (!i.active) throw new Error(`introspection says inactive: ${JSON.stringify(i)}`);

  const scenarios: (() => Promise<LoadResult>)[] = [
    () => load({ name: 'no-op Health/Check (Connect JSON)', url: `${server.url}/grpc.health.v1.Health/Check`, method: 'POST', headers: connectJson(), body: '{}', connections, seconds }),
    () => load({ name: 'client_credentials token (POST /oauth/token)', url: `${server.url}/oauth/token`, method: 'POST', headers: form, body: tokenBody, connections, seconds }),
    () =>
      load({ name: 'introspection of a JWT access token (POST /oauth/introspect)', url: `${server.url}/oauth/introspect`, method: 'POST', headers: form, body: introspectBody, connections, seconds }),
    () =>
      load({
        name: 'GET /api/user/organizations/{id} with the OAuth token as Bearer',
        url: `${server.url}/api/user/organizations/${orgid}`,
        headers: { authorization: `Bearer ${accessToken}` },
        connections,
        seconds,
      }),
  ];
  const results = await interleaved(scenarios, rounds);
  console.log(`\n${connections} connections, ${seconds} s per run, median of ${rounds} interleaved rounds\n`);
  report(results, results[0]);
} finally {
  await server.stop();
}
