// WebhookService over REST and gRPC: create (secret shown once), list, get, update, delete; only org
// admins, only their own organization; validation names the field; receivers on private, loopback
// and link-local addresses are refused when WEBHOOK_ALLOW_PRIVATE is not set.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookService } from '../../gen/latchkey/v1/webhook_pb.js';
import { signUpAndIn, type TestUser, uniqueEmail } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { type SmtpSink, startSmtp, tokenOf } from '../helpers/smtp.js';

let s: TestServer;
let smtp: SmtpSink;
let admin: TestUser;
let member: TestUser;
let stranger: TestUser;
const PUBLIC = 'https://8.8.8.8/hooks';

const hooks = (u: TestUser, org = u.organizationId) => `/api/organizations/${org}/webhooks`;
const auth = (u: TestUser) => ({ cookie: u.cookie });

beforeAll(async () => {
  // No WEBHOOK_ALLOW_PRIVATE, and no worker: nothing is sent from this file.
  smtp = await startSmtp();
  s = await startServer({ env: { WEBHOOK_WORKER: 'false', SMTP_URL: smtp.url } });
  admin = await signUpAndIn(s.url, 'Admin');
  stranger = await signUpAndIn(s.url, 'Stranger');
  const email = uniqueEmail('member');
  member = await signUpAndIn(s.url, 'Member', email);
  const inv = await rest(s.url, 'POST', `/api/user/organizations/${admin.organizationId}/invitations`, { headers: auth(admin), body: { email, role: 'member' } });
  let mail;
  do mail = await smtp.nextMail(email);
  while (!/invited/i.test(mail.subject));
  const accepted = await rest(s.url, 'POST', `/api/user/invitations/${inv.body.data.invitation.id}/accept`, { headers: auth(member), body: { token: tokenOf(mail) } });
  expect(accepted.status).toBe(200);
});
afterAll(async () => {
  await s?.stop();
  await smtp?.stop();
});

describe('webhook endpoints', () => {
  it('are created with a secret shown once, then listed, read, changed and deleted', async () => {
    const created = await rest(s.url, 'POST', hooks(admin), { headers: auth(admin), body: { url: PUBLIC, description: 'billing', eventTypes: ['api_key.*', 'member.removed'] } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const { endpoint, secret } = created.body.data;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(endpoint).toMatchObject({ url: PUBLIC, description: 'billing', eventTypes: ['api_key.*', 'member.removed'], enabled: true, organizationId: admin.organizationId });

    const listed = await rest(s.url, 'GET', hooks(admin), { headers: auth(admin) });
    expect(listed.body.data.endpoints.map((e: any) => e.id)).toContain(endpoint.id);
    const got = await rest(s.url, 'GET', `${hooks(admin)}/${endpoint.id}`, { headers: auth(admin) });
    expect(got.body.data.endpoint).toEqual(endpoint);
    expect(JSON.stringify([listed.body, got.body])).not.toContain(secret);
    // Sealed at rest, never the plaintext.
    const [row] = await s.deps.db.orm.em.fork().execute<{ secret_sealed: string }[]>('select secret_sealed from webhook_endpoints where id = ?', [endpoint.id]);
    expect(row.secret_sealed).not.toContain(secret.slice(6, 20));

    const upd = await rest(s.url, 'PATCH', `${hooks(admin)}/${endpoint.id}`, { headers: auth(admin), body: { enabled: false, eventTypes: [], setEventTypes: true } });
    expect(upd.status).toBe(200);
    expect(upd.body.data.endpoint).toMatchObject({ enabled: false, eventTypes: [], description: 'billing', url: PUBLIC });

    const del = await rest(s.url, 'DELETE', `${hooks(admin)}/${endpoint.id}`, { headers: auth(admin) });
    expect(del.status).toBe(200);
    expect((await rest(s.url, 'GET', `${hooks(admin)}/${endpoint.id}`, { headers: auth(admin) })).status).toBe(404);
  });

  it('work over gRPC with the same rules', async () => {
    const wh = client(WebhookService, s.url, 'grpc');
    const headers = auth(admin);
    const { endpoint, secret } = await wh.createWebhookEndpoint({ organizationId: admin.organizationId, url: PUBLIC, eventTypes: ['webhook.test'] }, { headers });
    expect(secret).toMatch(/^whsec_/);
    const { deliveries } = await wh.listWebhookDeliveries({ organizationId: admin.organizationId, endpointId: endpoint!.id }, { headers });
    expect(deliveries).toEqual([]);
    const test = await wh.sendTestWebhookEvent({ organizationId: admin.organizationId, endpointId: endpoint!.id }, { headers });
    expect(test.delivery).toMatchObject({ eventType: 'webhook.test', status: 'pending', attempts: 0 });
    const err = await wh.createWebhookEndpoint({ organizationId: admin.organizationId, url: 'http://127.0.0.1:9/x' }, { headers }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it('refuse private, loopback and link-local receivers without WEBHOOK_ALLOW_PRIVATE', async () => {
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://10.1.2.3/hook',
      'http://192.168.0.10/hook',
      'http://172.20.0.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'http://[fe80::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://0.0.0.0/hook',
      'http://no-such-host.invalid/hook',
    ]) {
      const r = await rest(s.url, 'POST', hooks(admin), { headers: auth(admin), body: { url } });
      expect(r.status, url).toBe(400);
      expect(r.body, url).toMatchObject({ code: 'VALIDATION_ERROR', field: 'url' });
    }
    const listed = await rest(s.url, 'GET', hooks(admin), { headers: auth(admin) });
    expect(listed.body.data.endpoints.some((e: any) => !e.url.startsWith('https://8.8.8.8'))).toBe(false);
  });

  it('validate the URL and the event filter, naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ url: 'ftp://8.8.8.8/x' }, 'url'],
      [{ url: 'not a url' }, 'url'],
      [{ url: '' }, 'url'],
      [{ url: 'https://user:pw@8.8.8.8/x' }, 'url'],
      [{ url: PUBLIC, eventTypes: ['api_key.exploded'] }, 'eventTypes[0]'],
      [{ url: PUBLIC, eventTypes: ['member.added', 'API KEY'] }, 'eventTypes[1]'],
      [{ url: PUBLIC, description: 'x'.repeat(501) }, 'description'],
    ];
    for (const [body, field] of cases) {
      const r = await rest(s.url, 'POST', hooks(admin), { headers: auth(admin), body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body, JSON.stringify(body)).toMatchObject({ code: 'VALIDATION_ERROR', field });
    }
    const created = await rest(s.url, 'POST', hooks(admin), { headers: auth(admin), body: { url: PUBLIC } });
    const id = created.body.data.endpoint.id;
    const rot = await rest(s.url, 'POST', `${hooks(admin)}/${id}/rotate-secret`, { headers: auth(admin), body: { overlapSeconds: 999999 } });
    expect(rot.body).toMatchObject({ code: 'VALIDATION_ERROR', field: 'overlapSeconds' });
    const bad = await rest(s.url, 'GET', `${hooks(admin)}/${id}/deliveries?status=lost`, { headers: auth(admin) });
    expect(bad.body).toMatchObject({ code: 'VALIDATION_ERROR', field: 'status' });
  });

  it('are for org admins only, and only in their own organization', async () => {
    const created = await rest(s.url, 'POST', hooks(admin), { headers: auth(admin), body: { url: PUBLIC } });
    const id = created.body.data.endpoint.id;
    expect((await rest(s.url, 'GET', hooks(member, admin.organizationId), { headers: auth(member) })).status).toBe(403);
    expect((await rest(s.url, 'POST', hooks(member, admin.organizationId), { headers: auth(member), body: { url: PUBLIC } })).status).toBe(403);
    expect((await rest(s.url, 'GET', hooks(stranger, admin.organizationId), { headers: auth(stranger) })).status).toBe(404);
    // The stranger's own organization does not reach the admin's endpoint by id.
    for (const [method, path] of [
      ['GET', `${hooks(stranger)}/${id}`],
      ['PATCH', `${hooks(stranger)}/${id}`],
      ['DELETE', `${hooks(stranger)}/${id}`],
      ['POST', `${hooks(stranger)}/${id}/rotate-secret`],
      ['GET', `${hooks(stranger)}/${id}/deliveries`],
      ['POST', `${hooks(stranger)}/${id}/test`],
      ['POST', `${hooks(stranger)}/${id}/deliveries/wd_x/replay`],
    ]) {
      const r = await rest(s.url, method, path, { headers: auth(stranger), body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      expect(r.status, `${method} ${path}`).toBe(404);
    }
    expect((await rest(s.url, 'GET', hooks(admin), {})).status).toBe(401);
  });
});
