// Organizations: create, read, update, delete, on every protocol; the tenant header rules.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TestUser } from '../helpers/accounts.js';
import { PROTOCOLS, rest } from '../helpers/clients.js';
import { createOrg, invite, join, newUser, orgClient, session, startWorld, type World } from './fixtures.js';

let w: World;
let root: TestUser, admin: TestUser;

beforeAll(async () => {
  w = await startWorld();
  [root, admin] = await Promise.all([newUser(w, 'Root'), newUser(w, 'Admin')]);
});
afterAll(() => w?.stop());

describe('CreateOrganization', () => {
  test('the creator becomes root_admin; REST data is the organization itself; type defaults to personal', async () => {
    const r = await rest(w.server.url, 'POST', '/api/user/organizations', { body: { name: '  Acme Widgets ' }, headers: session(root) });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ name: 'Acme Widgets', type: 'personal', role: 'root_admin', partnerOrganizationId: '' });
    expect(r.body.data.slug).toMatch(/^acme-widgets-[0-9a-f]{8}$/);
  });

  test('a chosen slug is unique; bad names, slugs and types are validation errors', async () => {
    const slug = `team-${Date.now().toString(36)}`;
    expect((await createOrg(w, root, { name: 'Team', slug, type: 'test' })).slug).toBe(slug);
    const dup = await rest(w.server.url, 'POST', '/api/user/organizations', { body: { name: 'Team 2', slug }, headers: session(admin) });
    expect(dup).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
    for (const body of [{ name: '' }, { name: 'x', slug: 'Not A Slug' }, { name: 'x', type: 'Partner!' }]) {
      const r = await rest(w.server.url, 'POST', '/api/user/organizations', { body, headers: session(root) });
      expect(r).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
    }
  });
});

describe('GetOrganization', () => {
  test('works on every protocol with the caller’s role', async () => {
    const org = await createOrg(w, root, { name: 'Everywhere' });
    for (const protocol of PROTOCOLS) {
      const res = await orgClient(w.server.url, protocol).getOrganization({ organizationId: org.id }, { headers: session(root) });
      expect(res.organization).toMatchObject({ id: org.id, name: 'Everywhere', role: 'root_admin' });
    }
  });

  test('the path wins; an agreeing header is fine, a contradicting one is a 400 naming it', async () => {
    const a = await createOrg(w, root, { name: 'A' });
    const b = await createOrg(w, root, { name: 'B' });
    const get = (headers: Record<string, string>) => rest(w.server.url, 'GET', `/api/user/organizations/${a.id}`, { headers: session(root, headers) });
    expect((await get({ orgid: a.id })).status).toBe(200);
    const bad = await get({ 'x-organization-id': b.id });
    expect(bad).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(bad.body.message).toMatch(/x-organization-id/);
    const both = await get({ orgid: a.id, 'x-organization-id': b.id });
    expect(both.status).toBe(400);
  });

  test('over gRPC an empty organization_id takes the header; none at all is invalid_argument', async () => {
    const org = await createOrg(w, root, { name: 'Header Only' });
    const grpc = orgClient(w.server.url, 'grpc');
    const res = await grpc.getOrganization({}, { headers: session(root, { orgid: org.id }) });
    expect(res.organization?.id).toBe(org.id);
    const err = ConnectError.from(await grpc.getOrganization({}, { headers: session(root) }).catch((e) => e));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/orgid/);
  });
});

describe('UpdateOrganization', () => {
  test('admins rename and change the slug; only a root_admin changes the type', async () => {
    const org = await createOrg(w, root, { name: 'Before' });
    await join(w, root, org.id, admin, 'admin');
    const patch = (as: TestUser, body: object) => rest(w.server.url, 'PATCH', `/api/user/organizations/${org.id}`, { body, headers: session(as) });
    const renamed = await patch(admin, { name: 'After', slug: `after-${Date.now().toString(36)}` });
    expect(renamed.body.data).toMatchObject({ name: 'After', type: 'personal', role: 'admin' });
    expect((await patch(admin, { type: 'partner' })).status).toBe(403);
    expect((await patch(root, { type: 'partner' })).body.data.type).toBe('partner');
    // Unset fields keep their value.
    expect((await patch(root, {})).body.data).toMatchObject({ name: 'After', type: 'partner' });
  });
});

describe('DeleteOrganization', () => {
  test('root_admin only; ends memberships and invitations, keeps the users', async () => {
    const org = await createOrg(w, root, { name: 'Doomed' });
    const member = await newUser(w, 'Doomed Member');
    await join(w, root, org.id, admin, 'admin');
    await join(w, root, org.id, member, 'member');
    const pending = await invite(w, root, org.id, 'pending@example.com');
    const del = (as: TestUser) => rest(w.server.url, 'DELETE', `/api/user/organizations/${org.id}`, { headers: session(as) });
    expect((await del(admin)).status).toBe(403);
    expect((await del(root)).status).toBe(200);
    for (const u of [root, admin, member]) {
      expect((await rest(w.server.url, 'GET', `/api/user/organizations/${org.id}`, { headers: session(u) })).status).toBe(404);
      const mine = await rest(w.server.url, 'GET', '/api/user/organizations', { headers: session(u) });
      expect(mine.body.data.organizations.map((o: any) => o.id)).not.toContain(org.id);
      expect((await rest(w.server.url, 'GET', '/api/user/me', { headers: session(u) })).status).toBe(200);
    }
    const late = await newUser(w, 'Late');
    expect((await rest(w.server.url, 'POST', `/api/user/invitations/${pending.invitationId}/accept`, { body: { token: pending.token }, headers: session(late) })).status).toBe(404);
    expect((await del(root)).status).toBe(404);
  });

  test('a deletion step registered by another module runs in the same transaction', async () => {
    const org = await createOrg(w, root, { name: 'With Keys' });
    const seen: string[] = [];
    w.server.deps.orgs.onDelete(async (tx, id) => {
      const [row] = await tx.execute<{ n: string }[]>('select count(*) as n from memberships where organization_id = ?', [id]);
      seen.push(`${id}:${row.n}`);
    });
    expect((await rest(w.server.url, 'DELETE', `/api/user/organizations/${org.id}`, { headers: session(root) })).status).toBe(200);
    expect(seen).toEqual([`${org.id}:1`]);
  });
});
