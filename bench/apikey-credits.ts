// Issue 18 point 2 figures: the cost of durable credits. VerifyApiKey of a warm key without a
// budget (zero SQL) against the same with a budget (one coalesced UPDATE per batch of uses), at
// 1 and BENCH_CONNECTIONS connections. Usage: npm run bench -- apikey-credits
// (DATABASE_URL=postgres://… for a real PostgreSQL; BENCH_SECONDS=5, BENCH_CONNECTIONS=20)
import { benchUser, connectJson, load, report, startServerProcess } from './lib.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const env: Record<string, string> = {};
if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: connectJson(headers), body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

const server = await startServerProcess(env);
try {
  const { cookie } = await benchUser(server.url);
  const orgs = (await (await fetch(`${server.url}/api/user/organizations`, { headers: { cookie } })).json()) as any;
  const orgid = orgs.data.organizations[0].id;
  const caller = (await post(`${server.url}/api/auth/api-key/create`, { name: 'caller', scopes: ['introspect'] }, { cookie, orgid })).data.key;
  const plain = (await post(`${server.url}/api/auth/api-key/create`, { name: 'plain', scopes: ['read'] }, { cookie, orgid })).data.key;
  const budget = (await post(`${server.url}/api/auth/api-key/create`, { name: 'budget', scopes: ['read'], remaining: 1_000_000_000 }, { cookie, orgid })).data.key;
  const url = `${server.url}/latchkey.v1.ApiKeyService/VerifyApiKey`;
  for (const k of [plain, budget]) await post(url, { key: k }, { 'x-api-key': caller });
  const run = (name: string, key: string, c: number) => load({ name, url, method: 'POST', headers: connectJson({ 'x-api-key': caller }), body: JSON.stringify({ key }), connections: c, seconds });
  const results = [];
  for (const c of [1, connections]) {
    results.push(await run(`no budget, ${c} conn`, plain, c));
    results.push(await run(`budget (durable credits), ${c} conn`, budget, c));
  }
  report(results, results[0]);
} finally {
  await server.stop();
}
