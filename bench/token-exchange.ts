// Issue 6 figures: SignInWithApiKey (REST, seed 004's curl) and IntrospectToken for a JWT and for a
// key at 20 connections, each as a ratio to the no-op RPC (Health/Check) in the same run; and the
// internal client's offline JWT verification rate in a loop (in this process).
// Usage: npm run bench -- token-exchange   (DATABASE_URL=postgres://…, BENCH_SECONDS=5, BENCH_ROUNDS=2)
// The exchange limit (5/min per key) is lifted for the run; every exchange still writes its audit event.
import { createLatchkeyVerifier } from '../src/client/index.js';
import { benchUser, connectJson, interleaved, type LoadResult, load, report, startServerProcess } from './lib.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const env: Record<string, string> = { EXCHANGE_RATE_LIMIT_PER_MINUTE: '1000000' };
if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: connectJson(headers), body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

const server = await startServerProcess(env);
try {
  const { cookie, body } = await benchUser(server.url);
  const userId: string = body.data.user?.id ?? body.data.userId;
  const orgs = (await (await fetch(`${server.url}/api/user/organizations`, { headers: { cookie } })).json()) as any;
  const orgid: string = orgs.data.organizations[0].id;
  const key = (await post(`${server.url}/api/auth/api-key/create`, { name: 'bench', scopes: ['read', 'impersonate', 'introspect'] }, { cookie, orgid })).data;
  const exchangeHeaders = { 'x-api-key': key.key, 'x-api-key-id': key.id, 'x-user-id': userId, accept: '*/*' };
  const exchangeUrl = `${server.url}/v1/${orgid}/user/signin_with_api_key`;
  const ex = await fetch(exchangeUrl, { method: 'POST', headers: exchangeHeaders });
  if (!ex.ok) throw new Error(`exchange failed: ${ex.status} ${await ex.text()}`);
  const jwt: string = ((await ex.json()) as any).id_token;
  const introspectUrl = `${server.url}/api/auth/introspect`;
  const h = connectJson({ 'x-api-key': key.key });

  const scenarios: (() => Promise<LoadResult>)[] = [
    () => load({ name: 'no-op Health/Check (Connect JSON)', url: `${server.url}/grpc.health.v1.Health/Check`, method: 'POST', headers: connectJson(), body: '{}', connections, seconds }),
    () => load({ name: 'SignInWithApiKey (REST, seed 004)', url: exchangeUrl, method: 'POST', headers: exchangeHeaders, connections, seconds }),
    () => load({ name: 'IntrospectToken, exchanged JWT (REST)', url: introspectUrl, method: 'POST', headers: h, body: JSON.stringify({ token: jwt }), connections, seconds }),
    () => load({ name: 'IntrospectToken, API key (REST)', url: introspectUrl, method: 'POST', headers: h, body: JSON.stringify({ token: key.key }), connections, seconds }),
  ];
  const results = await interleaved(scenarios, rounds);
  console.log(`\n${connections} connections, ${seconds} s per run, median of ${rounds} interleaved rounds\n`);
  report(results, results[0]);

  // The internal client: offline verification of one exchanged JWT, in a loop.
  const v = createLatchkeyVerifier({ baseUrl: server.url, credential: key.key });
  await v.verify(jwt);
  const n = Number(process.env.BENCH_VERIFY_LOOPS ?? 20_000);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await v.verify(`Bearer ${jwt}`);
  const ms = performance.now() - t0;
  console.log(`\ninternal client, offline JWT verification: ${Math.round((n / ms) * 1000)} verifications/s (${n} in ${ms.toFixed(0)} ms; JWKS fetches: ${v.stats().jwksFetches})`);
} finally {
  await server.stop();
}
