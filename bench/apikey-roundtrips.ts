// Issue 5 figure: database round trips per verified request, warm (target 0) and cold (target 1).
// In process, so every SQL statement the server sends can be counted (MikroORM's query logger).
// Usage: npm run bench -- apikey-roundtrips   (DATABASE_URL=postgres://… for a real PostgreSQL)
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createDeps } from '../src/deps.js';
import { createLogger } from '../src/log.js';
import { listen } from '../src/server.js';
import { benchUser, connectJson } from './lib.js';

const N = Number(process.env.BENCH_KEYS ?? 200);
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-bench-rt-'));
const config = loadConfig({
  PORT: '0',
  HOST: '127.0.0.1',
  DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  SCRYPT_LOG_N: '12',
  SCRYPT_P: '1',
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
});
const deps = await createDeps(config, createLogger('warn'));
const server = await listen(deps);
const logger = deps.db.orm.config.getLogger() as { logQuery(ctx: { query: string }): void };
let statements: string[] = [];
const original = logger.logQuery;
logger.logQuery = function (ctx) {
  statements.push(ctx.query);
  return original.call(this, ctx);
};

async function post(p: string, body: unknown, headers: Record<string, string>): Promise<any> {
  const res = await fetch(server.url + p, { method: 'POST', headers: connectJson(headers), body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Statements sent while fn runs; the write-behind flusher's batched updates are counted apart. */
async function counted(fn: () => Promise<unknown>): Promise<{ all: number; keys: number; behind: number }> {
  statements = [];
  await fn();
  const behind = statements.filter((s) => /^\s*update api_keys/i.test(s)).length;
  const onPath = statements.filter((s) => !/^\s*update api_keys/i.test(s));
  return { all: onPath.length, keys: onPath.filter((s) => /api_keys/.test(s)).length, behind };
}

try {
  const { cookie } = await benchUser(server.url);
  const orgid = ((await (await fetch(`${server.url}/api/user/organizations`, { headers: { cookie } })).json()) as any).data.organizations[0].id;
  const caller = (await post('/api/auth/api-key/create', { name: 'caller', scopes: ['user:read', 'introspect'] }, { cookie, orgid })).data.key;
  const targets: string[] = [];
  for (let i = 0; i < N; i++) targets.push((await post('/api/auth/api-key/create', { name: `t${i}`, scopes: ['read'] }, { cookie, orgid })).data.key);
  const verify = (key: string) => post('/latchkey.v1.ApiKeyService/VerifyApiKey', { key }, { 'x-api-key': caller });
  await verify(targets[0]); // warms the caller's own key
  const cold = await counted(async () => {
    for (const k of targets.slice(1)) await verify(k);
  });
  const warm = await counted(async () => {
    for (const k of targets.slice(1)) await verify(k);
  });
  await fetch(`${server.url}/api/user/me`, { headers: { 'x-api-key': caller } });
  const me = await counted(async () => {
    for (let i = 0; i < N; i++) await fetch(`${server.url}/api/user/me`, { headers: { 'x-api-key': caller } });
  });
  const n = N - 1;
  console.log('| request | round trips per request | of which api_keys | background write-behind statements (total) |');
  console.log('|---|---|---|---|');
  console.log(`| VerifyApiKey, cold key (${n} distinct keys, caller warm) | ${(cold.all / n).toFixed(2)} | ${(cold.keys / n).toFixed(2)} | ${cold.behind} |`);
  console.log(`| VerifyApiKey, warm key (same ${n} keys again) | ${(warm.all / n).toFixed(2)} | ${(warm.keys / n).toFixed(2)} | ${warm.behind} |`);
  console.log(`| GET /api/user/me by a warm key (GetMe's own reads included) | ${(me.all / N).toFixed(2)} | ${(me.keys / N).toFixed(2)} | ${me.behind} |`);
} finally {
  logger.logQuery = original;
  await server.close();
  await deps.close();
  await rm(dataDir, { recursive: true, force: true });
}
