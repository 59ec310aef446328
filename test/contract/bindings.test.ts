// Binding-level access rules, as a client sees them: the seed-000 AppEngine paths require `orgid`
// (seed 001's paths keep their personal-token behaviour), partner APIs refuse client keys on every
// partner binding, and RPCs for the user's own sign-in refuse keys. The lists of bindings come from
// the access options themselves, so a new binding with a rule is tested without touching this file.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { OrgService } from '../../gen/latchkey/v1/org_pb.js';
import { accessOf } from '../../src/transport/access.js';
import { RouteTable } from '../../src/transport/rest/route-table.js';
import { SERVICES } from '../../src/transport/routes.js';
import { cookie, createKey, createOrg, newUser, startWorld, type World, xApiKey } from '../apikey/fixtures.js';
import type { TestUser } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';

const table = new RouteTable(SERVICES);
const bindings = table.all.map((r) => ({ route: r, rule: accessOf(r.method), binding: accessOf(r.method).bindings.get(r.template.source) }));
const label = (b: (typeof bindings)[number]) => `${b.route.httpMethod} ${b.route.template.source}`;
const headerRequired = bindings.filter((b) => b.binding?.tenantHeaderRequired);
const partnerBindings = bindings.filter((b) => b.rule.partnerApi || b.binding?.partnerApi);

/** A concrete request for a binding: path variables filled, a body the RPC accepts. */
function requestFor(b: (typeof bindings)[number], keyId: string, clientOrgId = ''): { method: string; path: string; body?: object } {
  const path = b.route.template.source.replace('{key_id}', keyId).replace('{client_organization_id}', clientOrgId);
  const body = b.route.body
    ? b.route.method.name.startsWith('Create') || b.route.method.name.startsWith('Update') || b.route.method.name.startsWith('Add')
      ? { name: 'binding test' }
      : {}
    : undefined;
  return { method: b.route.httpMethod, path, body };
}

let w: World;
let u: TestUser;
let orgKey: { id: string; key: string };
beforeAll(async () => {
  w = await startWorld();
  u = await newUser(w, 'Tenant Header');
  orgKey = await createKey(w, cookie(u, { orgid: u.organizationId }));
});
afterAll(async () => {
  await w?.stop();
});

const personalTokens = async (who: TestUser) => (await rest(w.url, 'GET', '/api/user/api-keys', { headers: cookie(who) })).body.data.apiKeys as { id: string }[];

describe('seed 000: the AppEngine paths require orgid', () => {
  test('the contract marks exactly the AppEngine paths', () => {
    expect(headerRequired.map(label).sort()).toEqual(
      ['DELETE /api-key/{key_id}', 'GET /api-key/list', 'GET /api-key/{key_id}', 'GET /profile/whoami', 'PATCH /api-key/{key_id}', 'POST /api-key/create', 'POST /api-key/regenerate/{key_id}'].sort(),
    );
  });

  test.each(headerRequired.map((b) => [label(b), b] as const))('%s without orgid is 400 BAD_REQUEST naming the header, for a session and for a key of the organization', async (_l, b) => {
    const req = requestFor(b, orgKey.id);
    for (const headers of [cookie(u), xApiKey(orgKey.key)]) {
      const r = await rest(w.url, req.method, req.path, { headers, body: req.body });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ success: false, status: 400, code: 'BAD_REQUEST' });
      expect(r.body.message).toMatch(/orgid/);
    }
    // Nothing changed: the key still works with its old secret.
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(orgKey.key) })).status).toBe(200);
  });

  test("GET /api-key/list: 400 without orgid; with orgid (or x-organization-id) the organization's keys as before", async () => {
    const none = await rest(w.url, 'GET', '/api-key/list', { headers: cookie(u) });
    expect(none.status).toBe(400);
    for (const header of ['orgid', 'x-organization-id']) {
      const r = await rest(w.url, 'GET', '/api-key/list', { headers: cookie(u, { [header]: u.organizationId }) });
      expect(r.status).toBe(200);
      expect(r.body.data.apiKeys.map((k: { id: string }) => k.id)).toContain(orgKey.id);
    }
  });

  test('POST /api-key/create: 400 without orgid and no key made; with orgid a key of that organization', async () => {
    const before = await personalTokens(u);
    const none = await rest(w.url, 'POST', '/api-key/create', { headers: cookie(u), body: { name: 'no tenant' } });
    expect(none.status).toBe(400);
    expect(none.body.message).toMatch(/orgid/);
    expect(await personalTokens(u)).toEqual(before);

    const r = await rest(w.url, 'POST', '/api-key/create', { headers: cookie(u, { orgid: u.organizationId }), body: { name: 'pipeline' } });
    expect(r.status).toBe(200);
    expect(r.body.data.apiKey).toMatchObject({ organizationId: u.organizationId, personal: false });
  });

  test('GET /profile/whoami: 400 without orgid, the user with it', async () => {
    expect((await rest(w.url, 'GET', '/profile/whoami', { headers: cookie(u) })).status).toBe(400);
    const r = await rest(w.url, 'GET', '/profile/whoami', { headers: cookie(u, { orgid: u.organizationId }) });
    expect(r.status).toBe(200);
    expect(r.body.data.id).toBe(u.userId);
  });
});

describe('seed 001: personal-token paths keep working without a tenant', () => {
  test('POST /api/auth/api-key/create without orgid makes a personal token, listed at /api/user/api-keys', async () => {
    const r = await rest(w.url, 'POST', '/api/auth/api-key/create', { headers: cookie(u), body: { name: 'personal' } });
    expect(r.status).toBe(200);
    expect(r.body.data.apiKey).toMatchObject({ personal: true, organizationId: '' });
    expect((await personalTokens(u)).map((k) => k.id)).toContain(r.body.data.id);
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(r.body.data.key) })).status).toBe(200);
  });

  test('gRPC has no REST binding: CreateApiKey without a tenant is a personal token, as before', async () => {
    const res = await client(ApiKeyService, w.url, 'grpc').createApiKey({ name: 'grpc personal' }, { headers: cookie(u) });
    expect(res.apiKey).toMatchObject({ personal: true, organizationId: '' });
  });
});

describe('partner APIs refuse client keys on every partner binding', () => {
  let admin: TestUser;
  let partner: string, clientOrg: string;
  let partnerKey: { id: string; key: string }, clientKey: { id: string; key: string };
  beforeAll(async () => {
    admin = await newUser(w, 'Partner Admin');
    partner = await createOrg(w, admin, { name: 'Partner', type: 'partner' });
    const c = await rest(w.url, 'POST', '/v2/partner/organizations', { headers: cookie(admin, { orgid: partner }), body: { name: 'Client' } });
    clientOrg = c.body.data.organization.id;
    const mk = async (body: object) =>
      (await rest(w.url, 'POST', '/v2/partner/api_keys', { headers: cookie(admin, { orgid: partner }), body: { name: 'k', scopes: ['read', 'write'], ...body } })).body.data;
    partnerKey = await mk({});
    clientKey = await mk({ clientOrganizationId: clientOrg });
  });

  test('the contract marks the /v2/partner/* bindings', () => {
    expect(partnerBindings.map(label).sort()).toEqual(
      [
        'DELETE /v2/partner/api_keys/{key_id}',
        'DELETE /v2/partner/organizations/{client_organization_id}',
        'GET /v2/partner/api_keys',
        'GET /v2/partner/organizations',
        'POST /v2/partner/api_keys',
        'POST /v2/partner/organizations',
      ].sort(),
    );
  });

  test.each(partnerBindings.map((b) => [label(b), b] as const))('%s with a client key is 403, whichever tenant it names', async (_l, b) => {
    const req = requestFor(b, partnerKey.id, clientOrg);
    for (const orgid of [partner, clientOrg]) {
      const r = await rest(w.url, req.method, req.path, { headers: xApiKey(clientKey.key, { orgid }), body: req.body });
      expect(r.status).toBe(403);
      expect(r.body.message).toBe('Client keys cannot use the partner APIs');
    }
    // The partner key is untouched (DELETE was refused) and still lists the portfolio.
    const ok = await rest(w.url, 'GET', '/v2/partner/organizations', { headers: xApiKey(partnerKey.key) });
    expect(ok.status).toBe(200);
  });

  test('a partner API for the whole RPC refuses client keys on gRPC too', async () => {
    // In its own client organization the key has reach and a role; the partner rule alone refuses it.
    const call = client(OrgService, w.url, 'grpc').listClientOrganizations({}, { headers: xApiKey(clientKey.key, { orgid: clientOrg }) });
    await expect(call).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.PermissionDenied && ConnectError.from(e).rawMessage === 'Client keys cannot use the partner APIs');
  });

  test("UpdateApiKey and RegenerateApiKey: a client key cannot manage the partner's keys (REST and gRPC)", async () => {
    for (const [method, path, body] of [
      ['PATCH', `/api-key/${partnerKey.id}`, { name: 'taken over' }],
      ['POST', `/api-key/regenerate/${partnerKey.id}`, {}],
      ['PATCH', `/api-key/${clientKey.id}`, { scopes: ['read', 'write', 'members:write'] }],
      ['POST', `/api-key/regenerate/${clientKey.id}`, {}],
    ] as const) {
      for (const orgid of [partner, clientOrg]) {
        const r = await rest(w.url, method, path, { headers: xApiKey(clientKey.key, { orgid }), body });
        expect(r.status, `${method} ${path} orgid=${orgid}`).toBe(404);
      }
    }
    const keys = client(ApiKeyService, w.url, 'grpc');
    // One call at a time: a second call started alongside rejects before anything awaits it.
    for (const call of [
      () => keys.updateApiKey({ keyId: partnerKey.id, name: 'taken over' }, { headers: xApiKey(clientKey.key) }),
      () => keys.regenerateApiKey({ keyId: partnerKey.id }, { headers: xApiKey(clientKey.key) }),
    ]) {
      await expect(call()).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.NotFound);
    }
    // Both secrets still work and the partner key kept its name.
    const got = await rest(w.url, 'GET', `/api-key/${partnerKey.id}`, { headers: cookie(admin, { orgid: partner }) });
    expect(got.body.data.name).toBe('k');
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(partnerKey.key) })).status).toBe(200);
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(clientKey.key) })).status).toBe(200);
  });
});

describe("RPCs that need the user's own sign-in refuse keys", () => {
  test('SignOut and AcceptInvitation with an API key are 403; with the session they pass the access check', async () => {
    const out = await rest(w.url, 'POST', '/api/auth/sign-out', { headers: xApiKey(orgKey.key), body: {} });
    expect(out.status).toBe(403);
    const invitee = await newUser(w, 'Invitee');
    const inviteeKey = await createKey(w, cookie(invitee));
    const inv = await rest(w.url, 'POST', `/api/user/organizations/${u.organizationId}/invitations`, { headers: cookie(u), body: { email: invitee.email, role: 'member' } });
    const path = `/api/user/invitations/${inv.body.data.invitation.id}/accept`;
    const byKey = await rest(w.url, 'POST', path, { headers: xApiKey(inviteeKey.key), body: { token: 'wrong' } });
    expect(byKey.status).toBe(403);
    // The session gets past the access rule to the invitation check (a wrong token is 404).
    expect((await rest(w.url, 'POST', path, { headers: cookie(invitee), body: { token: 'wrong' } })).status).toBe(404);
  });
});
