// Issue 17 figure: webhook deliveries per second from one replica to a local receiver that verifies
// every signature (standardwebhooks). N deliveries are queued while the worker is off, then a
// server with the worker on (same DATA_DIR or DATABASE_URL) drains them; the clock runs from its
// first delivery to the last.
// Usage: npm run bench -- webhooks   (BENCH_DELIVERIES=2000, BENCH_CONCURRENCY="16 64"; DATABASE_URL=postgres://… for PostgreSQL)

import { mkdtemp } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { benchUser, connectJson, startServerProcess } from './lib.js';

const N = Number(process.env.BENCH_DELIVERIES ?? 2000);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '16 64').split(/\s+/).map(Number);

let secret = '';
let received = 0;
let bad = 0;
let first = 0;
let last = 0;
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      new Webhook(secret).verify(Buffer.concat(chunks).toString('utf8'), req.headers as Record<string, string>);
    } catch {
      bad++;
    }
    received++;
    if (received === 1) first = performance.now();
    last = performance.now();
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

/** startServerProcess waits 20 s; a loaded machine may need longer to open the embedded database. */
async function ready(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become ready`);
}

for (const concurrency of CONCURRENCY) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-bench-wh-'));
  const db: Record<string, string> = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {};
  // One SECRET for every run: with DATABASE_URL the runs share a database (and its sealed keys).
  const env = { DATA_DIR: dataDir, SECRET: 'latchkey-bench-secret-0123456789-abcdefghij', WEBHOOK_ALLOW_PRIVATE: 'true', ...db };
  const queueing = await startServerProcess({ ...env, WEBHOOK_WORKER: 'false' });
  await ready(queueing.url);
  const u = await benchUser(queueing.url);
  const orgs = (await (await fetch(`${queueing.url}/api/user/organizations`, { headers: { cookie: u.cookie } })).json()) as any;
  const orgId: string = orgs.data.organizations[0].id;
  const created = (await (
    await fetch(`${queueing.url}/api/organizations/${orgId}/webhooks`, {
      method: 'POST',
      headers: connectJson({ cookie: u.cookie }),
      body: JSON.stringify({ url: hookUrl, eventTypes: ['webhook.test'] }),
    })
  ).json()) as any;
  secret = created.data.secret;
  const endpointId = created.data.endpoint.id;
  let queued = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (queued < N) {
        queued++;
        const r = await fetch(`${queueing.url}/api/organizations/${orgId}/webhooks/${endpointId}/test`, { method: 'POST', headers: connectJson({ cookie: u.cookie }), body: '{}' });
        if (!r.ok) throw new Error(`queue failed: ${r.status} ${await r.text()}`);
      }
    }),
  );
  await queueing.stop();
  console.log(`queued ${N} deliveries (worker off); draining with WEBHOOK_CONCURRENCY=${concurrency}…`);

  received = 0;
  bad = 0;
  const started = performance.now();
  const done = new Promise<void>((resolve, reject) => {
    let shown = 0;
    const t = setInterval(() => {
      if (received >= N) return (clearInterval(t), resolve());
      const s = Math.floor((performance.now() - started) / 10_000);
      if (s > shown) (shown = s), console.log(`  … ${received}/${N} received after ${s * 10} s`);
      if (s >= 30) clearInterval(t), reject(new Error(`only ${received}/${N} deliveries in 300 s`));
    }, 5);
  });
  const delivering = await startServerProcess({ ...env, WEBHOOK_WORKER_INTERVAL_MS: '10', WEBHOOK_CONCURRENCY: String(concurrency) });
  await done;
  await delivering.stop();
  const seconds = (last - first) / 1000;
  console.log(
    `${process.env.DATABASE_URL ? 'postgres' : 'pglite'}  concurrency ${String(concurrency).padStart(3)}  ${N} deliveries in ${seconds.toFixed(2)} s = ${Math.round(N / seconds)} deliveries/s  (bad signatures: ${bad}, received: ${received})`,
  );
  if (process.env.DATABASE_URL) {
    // Each run starts from an empty outbox on a shared database.
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await c.connect();
    await c.query('delete from webhook_events');
    await c.end();
  }
}
receiver.close();
