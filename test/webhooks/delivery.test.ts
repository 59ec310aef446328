// Webhook delivery end to end: events from several modules reach a real receiver signed per Standard
// Webhooks; filters; a receiver failing 3 times gets the event once after retries; redirects are not
// followed; a change that rolls back sends nothing; secret rotation signs with both secrets; a
// receiver down for the whole retry window ends dead-lettered and a replay delivers it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpAndIn, type TestUser, uniqueEmail } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { ofType, type Received, type Receiver, startReceiver } from './receiver.js';

let s: TestServer;
let admin: TestUser;
const receivers: Receiver[] = [];

const hooks = (u: TestUser) => `/api/organizations/${u.organizationId}/webhooks`;
const auth = (u: TestUser, extra: Record<string, string> = {}) => ({ cookie: u.cookie, ...extra });

async function endpoint(r: Receiver, body: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const res = await rest(s.url, 'POST', hooks(admin), { headers: auth(admin), body: { url: r.url, description: 'test receiver', ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  r.secrets.push(res.body.data.secret);
  return { id: res.body.data.endpoint.id, secret: res.body.data.secret };
}

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

async function createKey(name: string, extra: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const res = await rest(s.url, 'POST', '/api/auth/api-key/create', { headers: auth(admin, { orgid: admin.organizationId }), body: { name, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

async function deliveries(endpointId: string): Promise<any[]> {
  const res = await rest(s.url, 'GET', `${hooks(admin)}/${endpointId}/deliveries`, { headers: auth(admin) });
  expect(res.status).toBe(200);
  return res.body.data.deliveries;
}

/** Polls the delivery log (an observable state, not a timer) until `pred` holds. */
async function waitForDelivery(endpointId: string, pred: (d: any) => boolean, timeoutMs = 15_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = (await deliveries(endpointId)).find(pred);
    if (found) return found;
    if (Date.now() > until) throw new Error(`no delivery matched: ${JSON.stringify(await deliveries(endpointId))}`);
    await new Promise((r) => setImmediate(r));
  }
}

beforeAll(async () => {
  s = await startServer({
    env: {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_WORKER_INTERVAL_MS: '20',
      WEBHOOK_RETRY_BASE_MS: '20',
      WEBHOOK_RETRY_MAX_DELAY_MS: '200',
      WEBHOOK_TIMEOUT_MS: '1000',
    },
  });
  admin = await signUpAndIn(s.url, 'Hook Admin');
});
afterAll(async () => {
  await s?.stop();
  await Promise.all(receivers.map((r) => r.stop()));
});

describe('webhook delivery', () => {
  it('sends events from the key, invitation and organization modules, each signed per Standard Webhooks', async () => {
    const r = await receiver();
    await endpoint(r);
    const key = await createKey('signed');
    const inv = await rest(s.url, 'POST', `/api/user/organizations/${admin.organizationId}/invitations`, { headers: auth(admin), body: { email: uniqueEmail('invitee'), role: 'member' } });
    expect(inv.status).toBe(200);
    const upd = await rest(s.url, 'PATCH', `/api/user/organizations/${admin.organizationId}`, { headers: auth(admin), body: { name: 'Renamed' } });
    expect(upd.status).toBe(200);
    const revoked = await rest(s.url, 'DELETE', `/api-key/${key.id}`, { headers: auth(admin, { orgid: admin.organizationId }) });
    expect(revoked.status).toBe(200);

    const got = await r.waitFor((all) => ['api_key.created', 'invitation.created', 'organization.updated', 'api_key.revoked'].every((t) => ofType(all, t).length > 0));
    for (const d of got) {
      expect(d.verifiedWith, `signature of ${d.event.type}`).toHaveLength(1);
      expect(d.id).toMatch(/^msg_/);
      expect(d.event.data.organizationId).toBe(admin.organizationId);
    }
    const created = ofType(got, 'api_key.created')[0];
    expect(created.event.data.target).toEqual({ type: 'api_key', id: key.id });
    expect(created.event.data.actor).toEqual({ type: 'user', id: admin.userId });
    expect(created.body).not.toContain(key.key);
    expect(new Set(got.map((d) => d.id)).size).toBe(got.length);
  });

  it('sends only the events an endpoint filters for', async () => {
    const r = await receiver();
    await endpoint(r, { eventTypes: ['api_key.revoked'] });
    const key = await createKey('filtered');
    await rest(s.url, 'DELETE', `/api-key/${key.id}`, { headers: auth(admin, { orgid: admin.organizationId }) });
    const got = await r.waitFor((all) => ofType(all, 'api_key.revoked', (d) => d.event.data.target.id === key.id).length === 1);
    expect(got.map((d) => d.event.type)).toEqual(['api_key.revoked']);
  });

  it('retries a receiver that fails 3 times, which then gets the event once', async () => {
    const r = await receiver();
    const fails = new Map<string, number>();
    r.respond = (d) => {
      const n = fails.get(d.id) ?? 0;
      fails.set(d.id, n + 1);
      return n < 3 ? 500 : 200;
    };
    const ep = await endpoint(r, { eventTypes: ['api_key.created'] });
    const key = await createKey('flaky');
    const got = await r.waitFor((all) => all.some((d) => d.status === 200));
    expect(got.map((d) => d.status)).toEqual([500, 500, 500, 200]);
    expect(new Set(got.map((d) => d.id)).size).toBe(1);
    expect(got.every((d) => d.verifiedWith.length === 1)).toBe(true);
    expect(r.accepted()[0].event.data.target.id).toBe(key.id);
    const d = await waitForDelivery(ep.id, (x) => x.status === 'delivered');
    expect(d).toMatchObject({ eventType: 'api_key.created', attempts: 4, lastStatusCode: 200, lastError: '' });
    expect(d.eventId).toBe(got[0].id);
  });

  it('never follows a redirect: a 3xx is a failed attempt', async () => {
    const r = await receiver();
    r.respond = (d, res) => {
      if (d.path === '/hooks') res.writeHead(302, { location: `http://127.0.0.1:${r.port}/elsewhere` }).end();
      return d.path === '/hooks' ? 302 : 200;
    };
    const ep = await endpoint(r, { eventTypes: ['api_key.created'] });
    await createKey('redirected');
    const d = await waitForDelivery(ep.id, (x) => x.attempts >= 2);
    expect(d.status).toBe('pending');
    expect(d.lastStatusCode).toBe(302);
    expect(d.lastError).toMatch(/redirect/);
    expect(r.received.every((x) => x.path === '/hooks')).toBe(true);
    await rest(s.url, 'DELETE', `${hooks(admin)}/${ep.id}`, { headers: auth(admin) });
  });

  it('sends nothing for a change that rolled back', async () => {
    const r = await receiver();
    await endpoint(r, { eventTypes: ['organization.updated'] });
    const other = await rest(s.url, 'POST', '/api/user/organizations', { headers: auth(admin), body: { name: 'Slug holder', slug: `taken-${Date.now().toString(36)}` } });
    expect(other.status).toBe(200);
    // The update records organization.updated, then its flush fails on the unique slug: all of it rolls back.
    const clash = await rest(s.url, 'PATCH', `/api/user/organizations/${admin.organizationId}`, { headers: auth(admin), body: { slug: other.body.data.slug } });
    expect(clash.status).toBe(409);
    const ok = await rest(s.url, 'PATCH', `/api/user/organizations/${admin.organizationId}`, { headers: auth(admin), body: { name: 'After the rollback' } });
    expect(ok.status).toBe(200);
    const got = await r.waitFor((all) => ofType(all, 'organization.updated').length >= 1);
    // Outbox rows are fanned out in id order: the committed update comes after where the rolled-back one would be.
    expect(got.map((d) => d.event.data.details)).toEqual([{ name: expect.objectContaining({ to: 'After the rollback' }) }]);
    // Neither the audit event nor its webhook outlived the rollback.
    const audit = await rest(s.url, 'GET', `/api/user/organizations/${admin.organizationId}/audit-events?type=organization.updated`, { headers: auth(admin) });
    expect(audit.body.data.auditEvents.some((e: any) => 'slug' in e.metadata)).toBe(false);
  });

  it('signs with the old and the new secret during a rotation overlap, then with the new one only', async () => {
    const r = await receiver();
    const ep = await endpoint(r, { eventTypes: ['webhook.test'] });
    const rot = await rest(s.url, 'POST', `${hooks(admin)}/${ep.id}/rotate-secret`, { headers: auth(admin), body: { overlapSeconds: 3600 } });
    expect(rot.status).toBe(200);
    const fresh = rot.body.data.secret as string;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(ep.secret);
    expect(rot.body.data.endpoint.previousSecretExpiresAt).toBeTruthy();
    r.secrets = [ep.secret, fresh];
    const test1 = await rest(s.url, 'POST', `${hooks(admin)}/${ep.id}/test`, { headers: auth(admin), body: {} });
    expect(test1.status).toBe(200);
    const [first] = await r.waitFor((all) => all.length === 1);
    expect(first.event.type).toBe('webhook.test');
    expect(first.signature.split(' ')).toHaveLength(2);
    expect(first.verifiedWith.sort()).toEqual([ep.secret, fresh].sort());

    const again = await rest(s.url, 'POST', `${hooks(admin)}/${ep.id}/rotate-secret`, { headers: auth(admin), body: { overlapSeconds: 0 } });
    const newest = again.body.data.secret as string;
    r.secrets = [ep.secret, fresh, newest];
    await rest(s.url, 'POST', `${hooks(admin)}/${ep.id}/test`, { headers: auth(admin), body: {} });
    const all = await r.waitFor((x) => x.length === 2);
    expect(all[1].verifiedWith).toEqual([newest]);
  });

  it('dead-letters a delivery whose receiver is down for the whole 24 h window, and a replay delivers it', async () => {
    // A port nothing listens on: every attempt is a refused connection.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const url = `http://127.0.0.1:${port}/hooks`;
    const res = await rest(s.url, 'POST', hooks(admin), { headers: auth(admin), body: { url, eventTypes: ['api_key.created'] } });
    const ep = { id: res.body.data.endpoint.id as string, secret: res.body.data.secret as string };
    const key = await createKey('unlucky');
    const failing = await waitForDelivery(ep.id, (d) => d.attempts >= 2);
    expect(failing.status).toBe('pending');
    expect(failing.lastError).not.toBe('');

    s.clock.advance(25 * 3600); // past the retry window (the server's clock)
    const dead = await waitForDelivery(ep.id, (d) => d.status === 'dead_lettered');
    expect(dead.nextAttemptAt).toBeUndefined();

    const r = await startReceiver(port);
    receivers.push(r);
    r.secrets = [ep.secret];
    const replay = await rest(s.url, 'POST', `${hooks(admin)}/${ep.id}/deliveries/${dead.id}/replay`, { headers: auth(admin), body: {} });
    expect(replay.status).toBe(200);
    expect(replay.body.data.delivery.status).toBe('pending');
    const [got] = await r.waitFor((all: Received[]) => all.length === 1);
    expect(got.id).toBe(dead.eventId);
    expect(got.verifiedWith).toEqual([ep.secret]);
    expect(got.event.data.target.id).toBe(key.id);
    expect(await waitForDelivery(ep.id, (d) => d.id === dead.id && d.status === 'delivered')).toMatchObject({ lastStatusCode: 204 });
  });
});
