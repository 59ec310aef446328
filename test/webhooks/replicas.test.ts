// Two replicas on one PostgreSQL database run the delivery worker at once: each event reaches the
// receiver exactly once between them (claims with FOR UPDATE SKIP LOCKED). PGlite serves one
// process, so this file runs on PostgreSQL only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpAndIn, type TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { onRealPostgres, startServer, type TestServer } from '../helpers/server.js';
import { type Receiver, startReceiver } from './receiver.js';

const ENV = { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_WORKER_INTERVAL_MS: '5', WEBHOOK_CONCURRENCY: '4' };
let a: TestServer;
let b: TestServer;
let r: Receiver;
let admin: TestUser;

describe.skipIf(!onRealPostgres)('two replicas', () => {
  beforeAll(async () => {
    a = await startServer({ env: ENV });
    b = await startServer({ env: ENV, databaseUrl: a.databaseUrl });
    r = await startReceiver();
    admin = await signUpAndIn(a.url, 'Replica Admin');
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await r?.stop();
  });

  it('deliver each event exactly once between them', async () => {
    const created = await rest(a.url, 'POST', `/api/organizations/${admin.organizationId}/webhooks`, { headers: { cookie: admin.cookie }, body: { url: r.url, eventTypes: ['api_key.created'] } });
    expect(created.status).toBe(200);
    r.secrets = [created.body.data.secret];
    const N = 40;
    const keys = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        rest(i % 2 ? a.url : b.url, 'POST', '/api/auth/api-key/create', { headers: { cookie: admin.cookie, orgid: admin.organizationId }, body: { name: `replica ${i}` } }).then(
          (x) => x.body.data.id as string,
        ),
      ),
    );
    await r.waitFor((all) => new Set(all.map((d) => d.id)).size === N, 30_000);
    // Every delivery is recorded delivered only after the receiver answered: once all are, nothing is in flight.
    const em = a.deps.db.orm.em.fork();
    const until = Date.now() + 15_000;
    while ((await em.execute<{ n: string }[]>(`select count(*) as n from webhook_deliveries where status <> 'delivered'`))[0].n !== '0' && Date.now() < until)
      await new Promise((x) => setImmediate(x));
    const rows = await em.execute<{ attempts: number; status: string }[]>('select attempts, status from webhook_deliveries');
    expect(rows).toHaveLength(N);
    expect(rows.every((x) => x.status === 'delivered' && x.attempts === 1)).toBe(true);
    expect(r.received).toHaveLength(N);
    expect(a.deps.webhooks.worker.sent + b.deps.webhooks.worker.sent).toBe(N);
    expect(r.received.every((d) => d.verifiedWith.length === 1 && d.status === 204)).toBe(true);
    expect(new Set(r.received.map((d) => d.event.data.target.id))).toEqual(new Set(keys));
  });
});
