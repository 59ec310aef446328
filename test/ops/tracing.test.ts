// OpenTelemetry: the real server process (src/main.ts) with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an
// OTLP/HTTP receiver in this test. A request with a W3C traceparent gives an RPC span with that parent,
// database (and, with Redis, Redis) spans as its children, and log lines that carry its trace id.
// Without the variable, no OpenTelemetry module is loaded at all.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const onPostgres = !!process.env.TEST_DATABASE_URL;
const redisUrl = process.env.TEST_REDIS_URL;

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: string } }[];
}
const attr = (s: Span, key: string) => s.attributes.find((a) => a.key === key)?.value.stringValue;

/** An OTLP/HTTP receiver: collects every exported span; `waitFor` resolves when a predicate holds. */
async function receiver() {
  const spans: Span[] = [];
  const waiters: { test: () => boolean; resolve: () => void }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.url !== '/v1/traces' || !/^application\/json/.test(String(req.headers['content-type']))) return void res.writeHead(404).end();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans.push(...ss.spans);
      for (const w of [...waiters]) if (w.test()) waiters.splice(waiters.indexOf(w), 1), w.resolve();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    waitFor: (test: () => boolean) => new Promise<void>((resolve) => (test() ? resolve() : waiters.push({ test, resolve }))),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface Proc {
  url: string;
  logs: Record<string, unknown>[];
  stderr: string[];
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `node --import tsx src/main.ts` on port 0; resolves when it logs that it listens. */
async function startMain(env: Record<string, string>, extraArgs: string[] = []): Promise<Proc> {
  const child = spawn(process.execPath, [...extraArgs, '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SCRYPT_LOG_N: '10',
      SCRYPT_P: '1',
      SECRET: 'latchkey-test-secret-0123456789-abcdefghij',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${stderr.join('\n')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line);
      logs.push(entry);
      if (typeof entry.url === 'string' && /listening/.test(String(entry.msg))) resolve(entry.url);
    });
  });
  return {
    url,
    logs,
    stderr,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function database(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-tracing-'));
  const env: Record<string, string> = { DATA_DIR: dataDir, ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `lk-tracing-${randomBytes(4).toString('hex')}:` } : {}) };
  let name: string | undefined;
  if (onPostgres) {
    name = `lk_tracing_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await c.connect();
    await c.query(`create database ${name}`);
    await c.end();
    const u = new URL(process.env.TEST_DATABASE_URL!);
    u.pathname = `/${name}`;
    env.DATABASE_URL = u.toString();
  }
  return {
    env,
    async drop() {
      if (name) {
        const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`);
        await c.end();
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  let otlp: Awaited<ReturnType<typeof receiver>>;
  let db: Awaited<ReturnType<typeof database>>;
  let main: Proc;

  beforeAll(async () => {
    otlp = await receiver();
    db = await database();
    main = await startMain({ ...db.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '50' });
  }, 60_000);
  afterAll(async () => {
    await main?.stop();
    await otlp?.close();
    await db?.drop();
  });

  it('continues the caller’s trace: RPC span under the traceparent, database spans under the RPC span, trace id in the logs', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const email = `traced-${randomBytes(4).toString('hex')}@example.com`;
    const res = await fetch(`${main.url}/api/auth/sign-up/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${parentId}-01` },
      body: JSON.stringify({ email, password: 'correct-horse-battery', name: 'Traced User' }),
    });
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id')!;

    const rpcOf = () => otlp.spans.find((s) => s.traceId === traceId && s.name === 'latchkey.v1.AuthService/SignUp');
    const dbUnder = (id: string) => otlp.spans.filter((s) => s.traceId === traceId && s.parentSpanId === id && (attr(s, 'db.system') ?? attr(s, 'db.system.name')) === 'postgresql');
    await otlp.waitFor(() => !!rpcOf() && dbUnder(rpcOf()!.spanId).length > 0);
    const rpc = rpcOf()!;
    expect(rpc.parentSpanId).toBe(parentId);
    expect(rpc.kind).toBe(2); // SERVER
    expect(attr(rpc, 'rpc.method')).toBe('SignUp');
    expect(attr(rpc, 'rpc.service')).toBe('latchkey.v1.AuthService');
    expect(attr(rpc, 'latchkey.protocol')).toBe('rest');
    expect(attr(rpc, 'latchkey.outcome')).toBe('ok');
    expect(attr(rpc, 'http.route')).toBe('/api/auth/sign-up/email');
    const statements = () => dbUnder(rpc.spanId).map((s) => attr(s, 'db.statement') ?? attr(s, 'db.query.text') ?? s.name);
    await otlp.waitFor(() => statements().some((q) => /insert/i.test(q)));
    if (redisUrl) {
      const isRedis = (s: Span) => (attr(s, 'db.system') ?? attr(s, 'db.system.name')) === 'redis';
      await otlp.waitFor(() => otlp.spans.some((s) => s.traceId === traceId && s.parentSpanId === rpc.spanId && isRedis(s)));
    }

    // The log lines written during the request carry its trace id: the verification email (written
    // to the log without SMTP_URL) and any line with the request's id. The lines come through the
    // child's stdout, a channel of their own: wait for the email's (bounded, polled).
    const mail = await logLinesTo(main, email);
    for (const l of [...mail, ...main.logs.filter((l) => l.reqId === requestId)]) expect(l.trace_id).toBe(traceId);
  });

  it('starts a new trace for a request without traceparent, on gRPC-style Connect calls too', async () => {
    const res = await fetch(`${main.url}/latchkey.v1.TokenService/GetJwks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    await otlp.waitFor(() => otlp.spans.some((s) => s.name === 'latchkey.v1.TokenService/GetJwks'));
    const span = otlp.spans.find((s) => s.name === 'latchkey.v1.TokenService/GetJwks')!;
    expect(span.parentSpanId || undefined).toBeUndefined();
    expect(attr(span, 'latchkey.protocol')).toBe('connect');
    expect(attr(span, 'latchkey.outcome')).toBe('ok');
  });
});

/** The server's log lines about an email to `to`, once at least one has come through its stdout. */
async function logLinesTo(main: { logs: Record<string, unknown>[] }, to: string): Promise<Record<string, unknown>[]> {
  await vi.waitFor(() => expect(main.logs.some((l) => l.to === to)).toBe(true), { timeout: 10_000, interval: 20 });
  return main.logs.filter((l) => l.to === to);
}

describe('tracing off', () => {
  it('loads no OpenTelemetry module and adds no trace fields to the logs', async () => {
    const db = await database();
    // A resolve hook in the server process reports every module that resolves under @opentelemetry/.
    // The no-op @opentelemetry/api is the exception: prom-client loads it whenever it is installed (exemplars).
    const hook = `import { registerHooks } from 'node:module'; registerHooks({ resolve(s, c, next) { const r = next(s, c); if (r.url.includes('/@opentelemetry/')) process.stderr.write('OTEL-MODULE ' + r.url + '\\n'); return r; } });`;
    const main = await startMain(db.env, ['--import', `data:text/javascript,${encodeURIComponent(hook)}`]);
    try {
      const email = `untraced-${randomBytes(4).toString('hex')}@example.com`;
      const res = await fetch(`${main.url}/api/auth/sign-up/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01` },
        body: JSON.stringify({ email, password: 'correct-horse-battery', name: 'Untraced User' }),
      });
      expect(res.status).toBe(200);
      await res.text();
      const mail = await logLinesTo(main, email);
      for (const l of mail) expect(l.trace_id).toBeUndefined();
      const loaded = main.stderr.filter((l) => l.startsWith('OTEL-MODULE') && !l.includes('/@opentelemetry/api/'));
      expect(loaded).toEqual([]);
    } finally {
      await main.stop();
      await db.drop();
    }
  }, 60_000);
});
