// /metrics: Prometheus text that counts a known sequence of requests exactly, on every protocol.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Health } from '../../gen/grpc/health/v1/health_pb.js';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { signUpAndIn } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the text exposition format: every line is a comment or a valid sample. */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  // Values are Go floats: prom-client writes NaN as `Nan` (an event-loop gauge before its first sample).
  const re = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|[Nn]a[Nn]|\+Inf|-Inf)$/;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = re.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s?.stop());

describe('/metrics', () => {
  it('counts RPCs by protocol, method and code, and credential verifications by kind and outcome', async () => {
    const before = await scrape(s.url);
    for (let i = 0; i < 3; i++) await client(Health, s.url, 'connect').check({});
    for (let i = 0; i < 2; i++) await client(Health, s.url, 'grpc').check({});
    await client(Health, s.url, 'grpc-web').check({});
    // REST, no credential: unauthenticated, and no verification happens.
    expect((await rest(s.url, 'GET', '/api/user/me')).status).toBe(401);
    // Bad API key twice over REST, a bad JWT once over gRPC.
    for (let i = 0; i < 2; i++) expect((await rest(s.url, 'GET', '/api/user/me', { headers: { 'x-api-key': 'lk_notakey_0000' } })).status).toBe(401);
    await expect(client(AuthService, s.url, 'grpc').getMe({}, { headers: { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.e30.AAAA' } })).rejects.toThrow();
    const user = await signUpAndIn(s.url, 'Metrics');
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: user.cookie } })).status).toBe(200);
    const after = await scrape(s.url);

    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    const rpcs = 'latchkey_rpc_duration_seconds_count';
    const check = 'grpc.health.v1.Health/Check';
    expect(delta(rpcs, { protocol: 'connect', method: check, code: 'ok' })).toBe(3);
    expect(delta(rpcs, { protocol: 'grpc', method: check, code: 'ok' })).toBe(2);
    expect(delta(rpcs, { protocol: 'grpc_web', method: check, code: 'ok' })).toBe(1);
    expect(delta(rpcs, { protocol: 'rest', method: 'latchkey.v1.AuthService/GetMe', code: 'unauthenticated' })).toBe(3);
    expect(delta(rpcs, { protocol: 'grpc', method: 'latchkey.v1.AuthService/GetMe', code: 'unauthenticated' })).toBe(1);
    expect(delta(rpcs, { protocol: 'rest', method: 'latchkey.v1.AuthService/GetMe', code: 'ok' })).toBe(1);
    // Histogram buckets are cumulative: the +Inf bucket equals the count.
    expect(delta('latchkey_rpc_duration_seconds_bucket', { protocol: 'connect', method: check, le: '+Inf' })).toBe(3);
    const ver = 'latchkey_credential_verifications_total';
    expect(delta(ver, { kind: 'api_key', outcome: 'rejected' })).toBe(2);
    expect(delta(ver, { kind: 'jwt', outcome: 'rejected' })).toBe(1);
    expect(delta(ver, { kind: 'session', outcome: 'ok' })).toBe(1);
    // Sign-up hashes once, sign-in verifies once: two waits, none left queued.
    expect(delta('latchkey_password_hash_queue_wait_seconds_count', {})).toBe(2);
    expect(value(after, 'latchkey_password_hash_queue_depth', {})).toBe(0);
    expect(delta('latchkey_db_query_duration_seconds_count', { verb: 'insert', outcome: 'ok' })).toBeGreaterThan(0);
  });

  it('exports build info and the default process metrics, event-loop lag included', async () => {
    const m = await scrape(s.url);
    const info = m.find((x) => x.name === 'latchkey_build_info');
    expect(info?.labels.version).toBe('0.1.0');
    expect(info?.value).toBe(1);
    expect(m.some((x) => x.name === 'latchkey_nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('serves /metrics on METRICS_PORT instead of the API port when set', async () => {
    const other = await startServer({ env: { METRICS_PORT: '0' } });
    try {
      expect((await fetch(`${other.url}/metrics`)).status).toBe(404);
      expect(other.metricsPort).toBeGreaterThan(0);
      expect(other.metricsPort).not.toBe(other.port);
      const m = await scrape(`http://127.0.0.1:${other.metricsPort}`);
      expect(m.some((x) => x.name === 'latchkey_rpc_duration_seconds_bucket' || x.name === 'latchkey_build_info')).toBe(true);
    } finally {
      await other.stop();
    }
  });

  it('METRICS=false serves no /metrics, on the API port or on METRICS_PORT', async () => {
    const off = await startServer({ env: { METRICS: 'false', METRICS_PORT: '0' } });
    try {
      expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
      expect(off.metricsPort).toBeUndefined();
      expect((await rest(off.url, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await off.stop();
    }
  });
});
