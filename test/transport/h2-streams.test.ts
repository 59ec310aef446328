// HTTP/2 floods: one session opening 10,000 streams and 20 sessions × 500 streams are served at
// the announced concurrency; the server's RSS (its own process) returns to within 20 % of its
// baseline once the clients leave.
import http2 from 'node:http2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ChildServer, p99, probeWhile, spawnServer } from './child.js';

let s: ChildServer;
beforeAll(async () => {
  s = await spawnServer();
}, 120_000);
afterAll(() => s?.stop());

/** Open `count` streams at once on one session; resolves with how many answered 200. */
function flood(session: http2.ClientHttp2Session, count: number): Promise<number> {
  let ok = 0;
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const req = session.request({ ':method': 'POST', ':path': '/latchkey.v1.TokenService/GetJwks', 'content-type': 'application/json' });
          req.on('response', (h) => h[':status'] === 200 && ok++);
          req.on('data', () => {});
          req.on('close', resolve);
          req.on('error', () => {});
          req.end('{}');
        }),
    ),
  ).then(() => ok);
}

/** A session that has the server's SETTINGS (its stream limit) before it opens streams, as a
 * well-behaved client does; streams sent past the limit earlier are refused, and a session with
 * more than 100 refused streams is ended (that is the flood protection). */
async function connect(): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(s.url);
  await new Promise((r) => session.once('remoteSettings', r));
  return session;
}

async function waitFor(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return cond();
}

it('serves 10,000 streams on one session and 20 × 500 on twenty; RSS returns within 20 % of its baseline', { timeout: 180_000 }, async () => {
  // Warm up so the baseline includes the JIT-compiled code and the pools a running server has.
  const warm = await connect();
  await flood(warm, 500);
  warm.close();
  const baseline = await s.rss();

  const probe = () => fetch(`${s.url}/healthz`).then((r) => r.text());
  const one = await connect();
  const many = await Promise.all(Array.from({ length: 20 }, connect));
  const work = Promise.all([flood(one, 10_000), ...many.map((m) => flood(m, 500))]);
  let peak = baseline;
  const sampling = setInterval(() => void s.rss().then((r) => (peak = Math.max(peak, r))), 200);
  const latencies = await probeWhile(probe, work);
  const [single, ...multi] = await work;
  clearInterval(sampling);
  one.close();
  many.forEach((m) => m.close());

  expect(single).toBe(10_000);
  expect(multi.reduce((a, b) => a + b, 0)).toBe(20 * 500);
  const back = await waitFor(async () => (await s.rss()) <= baseline * 1.2, 30_000);
  const after = await s.rss();
  const mib = (n: number) => Math.round(n / 1024 / 1024);
  console.log(
    'h2 streams:',
    JSON.stringify({
      baselineMiB: mib(baseline),
      peakMiB: mib(peak),
      afterMiB: mib(after),
      probeP99Ms: Math.round(p99(latencies)),
      probeMaxMs: Math.round(Math.max(...latencies)),
      probes: latencies.length,
    }),
  );
  expect(back, `RSS ${mib(after)} MiB vs baseline ${mib(baseline)} MiB`).toBe(true);
});
