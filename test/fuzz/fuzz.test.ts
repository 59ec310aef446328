// The hostile-input fuzz suite: generated from the service descriptors (every RPC on Connect JSON,
// Connect binary, gRPC and gRPC-web; every REST binding), with the mutation families of issue 10.
// It fails on any 5xx (or gRPC server-fault code), any stack trace or internal path in a body,
// any answer slower than 5 s, and any /healthz stall. CI runs FUZZ_REQUESTS (default 5,000) with
// a fixed FUZZ_SEED; a longer run: FUZZ_REQUESTS=100000 npm test -- test/fuzz.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signUpAndIn } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { ALL_PROTOCOLS, type Context, FAMILIES, type RequestSpec, rng } from './mutations.js';
import { finding, LIMIT_MS, Sender } from './send.js';
import { METHODS, REST_ROUTES, sampleBinary, sampleMessage } from './targets.js';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const CONCURRENCY = 4;

let s: TestServer;
let credentials: Record<string, string>[] = [];
let ctx: Context;

beforeAll(async () => {
  s = await startServer();
  const u = await signUpAndIn(s.url, 'Fuzz Owner');
  const key = await rest(s.url, 'POST', '/api/auth/api-key/create', { body: { name: 'fuzz key' }, headers: { cookie: u.cookie } });
  if (key.status !== 200) throw new Error(`cannot create the fuzz API key: ${JSON.stringify(key.body)}`);
  // No credential, the session, the API key, each with and without a tenant header.
  credentials = [{}, { cookie: u.cookie }, { 'x-api-key': key.body.data.key }, { cookie: u.cookie, orgid: u.organizationId }, { 'x-api-key': key.body.data.key, orgid: u.organizationId }];
  ctx = { r: rng(SEED), fx: { organizationId: u.organizationId, userId: u.userId, email: u.email }, methods: METHODS, routes: REST_ROUTES };
}, 120_000);
afterAll(() => s?.stop());

/** One well-formed request per RPC and protocol and per REST binding, so every target is hit. */
function coverage(): RequestSpec[] {
  const out: RequestSpec[] = [];
  for (const m of METHODS) {
    const path = `/${m.parent.typeName}/${m.name}`;
    const target = `${m.parent.name}.${m.name}`;
    const json = Buffer.from(JSON.stringify(sampleMessage(m.input, ctx.fx)));
    const bin = Buffer.from(sampleBinary(m.input, ctx.fx));
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), bin]);
    frame.writeUInt32BE(bin.length, 1);
    out.push({ family: 'coverage', protocol: 'connect-json', target, method: 'POST', path, headers: { 'content-type': 'application/json' }, body: json });
    out.push({ family: 'coverage', protocol: 'connect-binary', target, method: 'POST', path, headers: { 'content-type': 'application/proto' }, body: bin });
    out.push({ family: 'coverage', protocol: 'grpc', target, method: 'POST', path, headers: { 'content-type': 'application/grpc', te: 'trailers' }, body: frame });
    out.push({ family: 'coverage', protocol: 'grpc-web', target, method: 'POST', path, headers: { 'content-type': 'application/grpc-web+proto' }, body: frame });
  }
  for (const route of REST_ROUTES) {
    const path = route.template.source.replace(/\{[^}]+\}/g, 'fuzz');
    out.push({
      family: 'coverage',
      protocol: 'rest',
      target: `${route.httpMethod} ${route.template.source}`,
      method: route.httpMethod,
      path,
      headers: route.body ? { 'content-type': 'application/json' } : {},
      body: route.body ? Buffer.from('{}') : undefined,
    });
  }
  return out;
}

interface Tally {
  requests: number;
  findings: number;
  hangs: number;
  examples: string[];
}

it(`${REQUESTS} hostile requests on every protocol: no 5xx, no leak, no hang, /healthz keeps answering`, { timeout: 60_000 + REQUESTS * 40 }, async () => {
  const families = Object.keys(FAMILIES);
  const specs = coverage();
  for (let i = specs.length; i < REQUESTS; i++) specs.push(FAMILIES[families[i % families.length]](ctx));
  // Spread credentials over every request (from the same seeded generator).
  for (const spec of specs) if (!spec.raw && spec.family !== 'bad-cookies') Object.assign(spec.headers, ctx.r.pick(credentials), spec.headers);

  const tally = new Map<string, Tally>();
  const byProtocol = new Map<string, number>();
  const targets = new Set<string>();
  const sender = new Sender(s.url, CONCURRENCY);

  // /healthz is asked every 200 ms throughout; a probe slower than 2 s is a stall.
  let stalls = 0;
  let healthChecks = 0;
  let running = true;
  const health = (async () => {
    while (running) {
      const t = performance.now();
      const ok = await fetch(`${s.url}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      );
      healthChecks++;
      if (!ok || performance.now() - t > 2_000) stalls++;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < specs.length) {
        const spec = specs[next++];
        const o = await sender.send(spec);
        if (o.unsendable) continue;
        const t = tally.get(spec.family) ?? { requests: 0, findings: 0, hangs: 0, examples: [] };
        tally.set(spec.family, t);
        t.requests++;
        byProtocol.set(spec.protocol, (byProtocol.get(spec.protocol) ?? 0) + 1);
        targets.add(spec.target);
        const why = finding(o);
        if (why) {
          t.findings++;
          if (o.hung || o.ms > LIMIT_MS) t.hangs++;
          if (t.examples.length < 3) t.examples.push(`${spec.protocol} ${spec.method} ${spec.path.slice(0, 80)} (${spec.target}): ${why} ${o.body.replace(/[^\x20-\x7e]/g, '.').slice(0, 160)}`);
        }
      }
    }),
  );
  running = false;
  await health;
  sender.close();

  const sent = [...tally.values()].reduce((a, t) => a + t.requests, 0);
  const rows = [...tally.entries()].map(
    ([family, t]) =>
      `${family.padEnd(22)} ${String(t.requests).padStart(6)} req ${String(t.findings).padStart(5)} 5xx/leak ${String(t.hangs).padStart(4)} hung${t.examples.map((e) => `\n    ${e}`).join('')}`,
  );
  console.log(
    `fuzz seed ${SEED}: ${sent} requests in ${Date.now() - started} ms, ${targets.size} targets, by protocol ${JSON.stringify(Object.fromEntries(byProtocol))}, /healthz ${healthChecks} checks ${stalls} stalls\n${rows.join('\n')}`,
  );

  expect(sent).toBeGreaterThanOrEqual(REQUESTS * 0.95);
  for (const p of ALL_PROTOCOLS) expect(byProtocol.get(p) ?? 0, p).toBeGreaterThan(0);
  for (const m of METHODS) expect(targets.has(`${m.parent.name}.${m.name}`), m.name).toBe(true);
  for (const r of REST_ROUTES) expect(targets.has(`${r.httpMethod} ${r.template.source}`), r.template.source).toBe(true);
  expect(stalls, '/healthz stalls').toBe(0);
  const failing = [...tally.entries()].filter(([, t]) => t.findings > 0);
  expect(failing.map(([family, t]) => `${family}: ${t.findings} of ${t.requests}\n  ${t.examples.join('\n  ')}`)).toEqual([]);
});
