// Partner portfolios (seed 003): linking and creating client organizations, listing them, partner
// admins acting in client organizations, and client admins not acting in the partner.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { createOrg, join, newUser, orgClient, principals, session, startWorld, type World } from './fixtures.js';

let w: World;
let partnerAdmin: TestUser, partnerMember: TestUser, clientAdmin: TestUser, clientOnly: TestUser;
let partner: string, linked: string, created: string;

const add = (as: TestUser | Record<string, string>, body: object, headers: Record<string, string> = { orgid: partner }) =>
  rest(w.server.url, 'POST', '/v2/partner/organizations', { body, headers: { ...('cookie' in as ? session(as as TestUser) : as), ...headers } as Record<string, string> });
const clients = (headers: Record<string, string>, query = '') => rest(w.server.url, 'GET', `/v2/partner/organizations${query}`, { headers });
const get = (as: TestUser, id: string) => rest(w.server.url, 'GET', `/api/user/organizations/${id}`, { headers: session(as) });

beforeAll(async () => {
  w = await startWorld();
  [partnerAdmin, partnerMember, clientAdmin, clientOnly] = await Promise.all([newUser(w, 'Pat Partner'), newUser(w, 'Pam'), newUser(w, 'Cliff Client'), newUser(w, 'Connie')]);
  partner = (await createOrg(w, partnerAdmin, { name: 'Partner Co', type: 'partner' })).id;
  await join(w, partnerAdmin, partner, partnerMember, 'member');
  await join(w, partnerAdmin, partner, clientAdmin, 'admin');
  linked = (await createOrg(w, clientAdmin, { name: 'Existing Client', type: 'paid' })).id;
  await join(w, clientAdmin, linked, clientOnly, 'root_admin');
});
afterAll(() => w?.stop());

describe('AddClientOrganization', () => {
  test('{name} creates a client organization in the portfolio, the caller its root_admin', async () => {
    const r = await add(partnerAdmin, { name: 'New Client' });
    expect(r.status).toBe(200);
    expect(r.body.data.organization).toMatchObject({ name: 'New Client', partnerOrganizationId: partner, role: 'root_admin' });
    created = r.body.data.organization.id;
    const mine = await rest(w.server.url, 'GET', '/api/user/organizations', { headers: session(partnerAdmin) });
    expect(mine.body.data.organizations.find((o: any) => o.id === created)?.role).toBe('root_admin');
  });

  test('{clientOrganizationId} links an organization only when the caller administers it', async () => {
    expect((await add(partnerAdmin, { clientOrganizationId: linked })).status).toBe(404);
    const r = await add(clientAdmin, { clientOrganizationId: linked }, { 'x-organization-id': partner });
    expect(r.status).toBe(200);
    expect(r.body.data.organization).toMatchObject({ id: linked, partnerOrganizationId: partner, role: 'root_admin' });
  });

  test('a client belongs to at most one partner', async () => {
    expect((await add(clientAdmin, { clientOrganizationId: linked })).status).toBe(409);
    const other = (await createOrg(w, clientAdmin, { name: 'Other Partner', type: 'partner' })).id;
    const r = await add(clientAdmin, { clientOrganizationId: linked }, { orgid: other });
    expect(r).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
    // A partner cannot be a client either.
    expect((await add(clientAdmin, { clientOrganizationId: other })).status).toBe(400);
  });

  test('exactly one of name and clientOrganizationId; a tenant header is required', async () => {
    expect((await add(partnerAdmin, {})).status).toBe(400);
    expect((await add(partnerAdmin, { name: 'x', clientOrganizationId: linked })).status).toBe(400);
    const none = await add(partnerAdmin, { name: 'x' }, {});
    expect(none).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(none.body.message).toMatch(/orgid or x-organization-id/);
  });

  test('members of the partner, and organizations that are not partners, are refused', async () => {
    expect((await add(partnerMember, { name: 'Nope' })).status).toBe(403);
    const plain = (await createOrg(w, partnerAdmin, { name: 'Plain', type: 'paid' })).id;
    const r = await add(partnerAdmin, { name: 'Nope' }, { orgid: plain });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/not a partner/);
  });
});

describe('ListClientOrganizations', () => {
  test('lists the portfolio (oldest organization first), in pages, for any member of the partner (REST and gRPC)', async () => {
    const r = await clients(session(partnerMember, { orgid: partner }));
    expect(r.body.data.organizations.map((o: any) => o.id)).toEqual([linked, created]);
    const page = await clients(session(partnerAdmin, { orgid: partner }), '?pageSize=1');
    expect(page.body.data.organizations.map((o: any) => o.id)).toEqual([linked]);
    const next = await clients(session(partnerAdmin, { orgid: partner }), `?pageSize=1&pageToken=${page.body.data.nextPageToken}`);
    expect(next.body.data.organizations.map((o: any) => o.id)).toEqual([created]);
    const grpc = await orgClient(w.server.url, 'grpc').listClientOrganizations({}, { headers: session(partnerMember, { 'x-organization-id': partner }) });
    expect(grpc.organizations.map((o) => o.id)).toEqual([linked, created]);
  });

  test('a client organization admin sees nothing of the partner', async () => {
    const r = await clients(session(clientOnly, { orgid: partner }));
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ organizations: [], nextPageToken: '' });
    expect((await get(clientOnly, partner)).status).toBe(404);
    expect((await add(clientOnly, { name: 'x' })).status).toBe(404);
  });
});

describe('acting in client organizations', () => {
  test('partner admins act in client organizations with their partner role, without a membership', async () => {
    const r = await get(partnerAdmin, linked);
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ id: linked, partnerOrganizationId: partner, role: '' });
    const members = await rest(w.server.url, 'GET', `/api/user/organizations/${linked}/members`, { headers: session(partnerAdmin) });
    expect(members.body.data.members.map((m: any) => m.email)).not.toContain(partnerAdmin.email);
    const inv = await rest(w.server.url, 'POST', `/api/user/organizations/${linked}/invitations`, { body: { email: 'new.hire@example.com' }, headers: session(partnerAdmin) });
    expect(inv.status).toBe(200);
  });

  test('partner members (not admins) do not reach client organizations', async () => {
    expect((await get(partnerMember, linked)).status).toBe(404);
  });

  test('demoting a partner admin ends their access to the clients at once', async () => {
    expect((await get(clientAdmin, created)).status).toBe(200);
    const demote = (role: string) => rest(w.server.url, 'PATCH', `/api/user/organizations/${partner}/members/${clientAdmin.userId}`, { body: { role }, headers: session(partnerAdmin) });
    expect((await demote('member')).status).toBe(200);
    expect((await get(clientAdmin, created)).status).toBe(404);
    expect((await demote('admin')).status).toBe(200);
    expect((await get(clientAdmin, created)).status).toBe(200);
  });

  test('client keys are refused on the partner APIs; a partner key uses its own organization as tenant', async () => {
    const credential = principals(w);
    const clientKey = credential({
      kind: 'apiKey',
      userId: partnerAdmin.userId,
      keyId: 'k_client',
      scopes: ['read', 'write'],
      organizationId: partner,
      pinnedOrganizationId: linked,
      partner: 'client',
    });
    expect((await clients({ 'x-api-key': clientKey })).status).toBe(403);
    expect((await clients({ 'x-api-key': clientKey, orgid: partner })).status).toBe(403);
    expect((await get(partnerAdmin, linked)).status).toBe(200);
    const partnerKey = credential({ kind: 'apiKey', userId: partnerAdmin.userId, keyId: 'k_partner', scopes: ['read'], organizationId: partner, partner: 'partner' });
    const r = await clients({ authorization: `Bearer ${partnerKey}` });
    expect(r.body.data.organizations.map((o: any) => o.id)).toEqual([linked, created]);
    expect((await add({ 'x-api-key': partnerKey }, { name: 'No write scope' }, {})).status).toBe(403);
  });
});

describe('portfolio rules on update and delete', () => {
  test('a client cannot become a partner; a partner with clients keeps its type and cannot be deleted', async () => {
    const client = await rest(w.server.url, 'PATCH', `/api/user/organizations/${linked}`, { body: { type: 'partner' }, headers: session(clientAdmin) });
    expect(client.status).toBe(400);
    const p = await rest(w.server.url, 'PATCH', `/api/user/organizations/${partner}`, { body: { type: 'paid' }, headers: session(partnerAdmin) });
    expect(p.status).toBe(400);
    expect((await rest(w.server.url, 'DELETE', `/api/user/organizations/${partner}`, { headers: session(partnerAdmin) })).status).toBe(400);
  });

  test('deleting a client organization takes it out of the portfolio', async () => {
    expect((await rest(w.server.url, 'DELETE', `/api/user/organizations/${created}`, { headers: session(partnerAdmin) })).status).toBe(200);
    const r = await clients(session(partnerAdmin, { orgid: partner }));
    expect(r.body.data.organizations.map((o: any) => o.id)).toEqual([linked]);
  });
});
