// compose.yaml's topology without containers: three replicas of the compiled server (child
// processes running dist/src/main.js, as the image does) start at once on one empty PostgreSQL
// database with one Redis, behind a real nginx running deploy/nginx.conf (its hosts and ports
// replaced by loopback ones). Each migration is applied once (the advisory lock), all three get
// ready, nginx spreads requests over the three, and a key revoked through one replica is refused
// through nginx within a second. Needs TEST_DATABASE_URL and nginx; Redis is TEST_REDIS_URL or a
// private redis-server.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { migrationsList } from '../../src/db/migrations/index.js';
import { hasBinary } from '../gateway/fixtures.js';
import { signUpAndIn } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { freePort, type RedisChild, startRedisServer, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { ensureBuilt, root } from './dist.js';

const NGINX = process.env.NGINX ?? 'nginx';
const enabled = !!process.env.TEST_DATABASE_URL && hasBinary(NGINX);

interface Replica {
  port: number;
  url: string;
  child: ChildProcess;
  log: () => string;
}

let dir: string;
let databaseUrl: string;
let redis: RedisChild | undefined;
let replicas: Replica[] = [];
let nginx: ChildProcess | undefined;
let lb: string;
let grpcLb: string;
let accessLog: string;

async function adminQuery<T>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

function startReplica(port: number, env: Record<string, string>): Replica {
  let out = '';
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/src/main.js'], { cwd: root, env: { PATH: process.env.PATH!, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { port, url: `http://127.0.0.1:${port}`, child, log: () => out };
}

/** Polls /readyz until 200; fails with the replica's output if it exits first. */
async function ready(r: Replica): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (r.child.exitCode !== null) throw new Error(`replica on ${r.port} exited with ${r.child.exitCode}: ${r.log()}`);
    const ok = await fetch(`${r.url}/readyz`).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`replica on ${r.port} not ready: ${r.log()}`);
}

/** deploy/nginx.conf as compose runs it, on loopback: replica hosts, listen ports and the log file replaced. */
async function startNginx(ports: number[]): Promise<void> {
  const [http, grpc] = [await freePort(), await freePort()];
  let conf = await readFile(path.join(root, 'deploy/nginx.conf'), 'utf8');
  ports.forEach((p, i) => (conf = conf.replaceAll(`latchkey-${i + 1}:8080`, `127.0.0.1:${p}`)));
  conf = conf.replace('listen 8080;', `listen 127.0.0.1:${http};`).replace('listen 9090 http2;', `listen 127.0.0.1:${grpc} http2;`);
  accessLog = path.join(dir, 'access.log');
  conf = conf.replaceAll('/dev/stdout', accessLog);
  expect(conf).not.toMatch(/latchkey-\d|listen (8080|9090)/);
  await writeFile(path.join(dir, 'latchkey.conf'), conf);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`).join('\n');
  await writeFile(
    path.join(dir, 'nginx.conf'),
    `daemon off;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 256; }\nhttp {\n${temp}\n  include ${dir}/latchkey.conf;\n}\n`,
  );
  let out = '';
  nginx = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
  nginx.stderr!.on('data', (d) => (out += d));
  lb = `http://127.0.0.1:${http}`;
  grpcLb = `http://127.0.0.1:${grpc}`;
  const deadline = Date.now() + 15_000;
  while (
    !(await fetch(`${lb}/healthz`).then(
      () => true,
      () => false,
    ))
  ) {
    if (nginx.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The upstream (replica port) of every request nginx logged for `pathPrefix`, with its status. */
async function upstreams(pathPrefix: string): Promise<{ port: number; status: number }[]> {
  const text = await readFile(accessLog, 'utf8');
  return [...text.matchAll(/"\w+ (\S+) HTTP\/[\d.]+" (\d+) upstream=127\.0\.0\.1:(\d+)/g)].filter((m) => m[1].startsWith(pathPrefix)).map((m) => ({ port: Number(m[3]), status: Number(m[2]) }));
}

beforeAll(async () => {
  if (!enabled) return;
  await ensureBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-replicas-'));
  const name = `lk_replicas_${Date.now().toString(36)}`;
  await adminQuery(process.env.TEST_DATABASE_URL!, `create database ${name}`);
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `/${name}`;
  databaseUrl = u.toString();
  if (!testRedisUrl) redis = await startRedisServer();
  const ports = [await freePort(), await freePort(), await freePort()];
  const env = {
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    REDIS_URL: testRedisUrl ?? redis!.url,
    REDIS_KEY_PREFIX: uniquePrefix('replicas'),
    SECRET: 'latchkey-test-secret-0123456789-abcdefghij',
    TRUSTED_PROXIES: 'loopback',
    LOG_LEVEL: 'warn',
    SCRYPT_LOG_N: '10',
    SCRYPT_P: '1',
    AUTH_IP_LIMIT: '100000',
    AUTH_EMAIL_LIMIT: '100000',
  };
  // All three at once, each with its own DATA_DIR, on the one empty database.
  replicas = await Promise.all(ports.map(async (p) => startReplica(p, { ...env, DATA_DIR: await mkdtemp(path.join(dir, 'data-')) })));
  await Promise.all(replicas.map(ready));
  await startNginx(ports);
}, 180_000);

afterAll(async () => {
  const stop = (c: ChildProcess | undefined) => (c && c.exitCode === null && c.signalCode === null ? new Promise<void>((r) => (c.once('exit', () => r()), c.kill('SIGTERM'))) : undefined);
  await Promise.all([stop(nginx), ...replicas.map((r) => stop(r.child))]);
  await redis?.kill();
  if (databaseUrl) await adminQuery(process.env.TEST_DATABASE_URL!, `drop database if exists ${new URL(databaseUrl).pathname.slice(1)} with (force)`);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!enabled)('three replicas behind nginx on one PostgreSQL', () => {
  it('applied every migration exactly once and are all ready', async () => {
    const rows = await adminQuery<{ name: string }>(databaseUrl, 'select name from mikro_orm_migrations order by id');
    expect(rows.map((r) => r.name)).toEqual(migrationsList.map((m) => m.name));
    for (const r of replicas) expect((await fetch(`${r.url}/readyz`)).status).toBe(200);
    for (const r of replicas) expect(r.log()).not.toMatch(/"level":50|already exists/);
  });

  it('nginx spreads requests over the three, on HTTP/1.1 and on gRPC', async () => {
    for (let i = 0; i < 30; i++) expect((await fetch(`${lb}/readyz?spread=${i}`)).status).toBe(200);
    const seen = (await upstreams('/readyz?spread=')).map((u) => u.port);
    expect(seen).toHaveLength(30);
    for (const r of replicas) expect(seen.filter((p) => p === r.port).length).toBeGreaterThanOrEqual(5);
    const user = await signUpAndIn(lb, 'Grpc User');
    const me = await client(AuthService, grpcLb, 'grpc').getMe({}, { headers: { cookie: user.cookie } });
    expect(me.user?.email).toBe(user.email);
  });

  it('a key revoked through one replica is refused through nginx within 1 s', async () => {
    const owner = await signUpAndIn(lb, 'Revoker');
    const h = { cookie: owner.cookie, orgid: owner.organizationId };
    const created = await rest(lb, 'POST', '/api/auth/api-key/create', { body: { name: 'shared' }, headers: h });
    expect(created.status).toBe(200);
    const key: string = created.body.data.key;
    const me = (tag: string) => rest(lb, 'GET', `/api/user/me?probe=${tag}`, { headers: { 'x-api-key': key } });
    // Every replica verifies (and caches) the key until each has answered 200 at least once.
    for (let i = 0; new Set((await upstreams('/api/user/me?probe=warm')).filter((u) => u.status === 200).map((u) => u.port)).size < 3; i++) {
      expect(i).toBeLessThan(60);
      expect((await me(`warm${i}`)).status).toBe(200);
    }
    const revoked = await rest(replicas[0].url, 'DELETE', `/api-key/${created.body.data.id}`, { headers: h });
    expect(revoked.status).toBe(200);
    const at = performance.now();
    let lastOk = -1;
    let n = 0;
    while (performance.now() - at < 1000) if ((await me(`after${n++}`)).status === 200) lastOk = performance.now() - at;
    expect(lastOk, `a replica still accepted the key ${Math.round(lastOk)} ms after the revocation`).toBeLessThan(1000);
    // And from then on every replica refuses it.
    for (let i = 0; i < 9; i++) {
      const r = await me(`final${i}`);
      expect(r.status).toBe(401);
      expect(r.body.reason).toBe('API_KEY_REVOKED');
    }
    const final = await upstreams('/api/user/me?probe=final');
    expect(new Set(final.map((u) => u.port)).size).toBe(3);
    console.log(`revocation: ${n} requests through nginx in the first second, last accepted at ${lastOk < 0 ? 'none' : `${Math.round(lastOk)} ms`}`);
  }, 60_000);
});
