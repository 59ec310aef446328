// Members and roles: listing with pages, who may change whose role, the last root_admin rule, leaving.
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { createOrg, join, newUser, orgClient, session, startWorld, type World } from './fixtures.js';

let w: World;
let root: TestUser, admin: TestUser, member: TestUser, member2: TestUser;
let org: string;

const members = (as: TestUser, query = '') => rest(w.server.url, 'GET', `/api/user/organizations/${org}/members${query}`, { headers: session(as) });
const setRole = (as: TestUser, userId: string, role: string, o = org) => rest(w.server.url, 'PATCH', `/api/user/organizations/${o}/members/${userId}`, { body: { role }, headers: session(as) });
const remove = (as: TestUser, userId: string, o = org) => rest(w.server.url, 'DELETE', `/api/user/organizations/${o}/members/${userId}`, { headers: session(as) });

beforeAll(async () => {
  w = await startWorld();
  [root, admin, member, member2] = await Promise.all([newUser(w, 'Root'), newUser(w, 'Admin'), newUser(w, 'Member'), newUser(w, 'Member Two')]);
  org = (await createOrg(w, root, { name: 'Roles Inc', type: 'paid' })).id;
  await join(w, root, org, admin, 'admin');
  await join(w, root, org, member, 'member');
  await join(w, root, org, member2, 'member');
});
afterAll(() => w?.stop());

describe('ListMembers', () => {
  test('lists every member, oldest first, with email, name and role', async () => {
    const r = await members(member);
    expect(r.status).toBe(200);
    expect(r.body.data.members.map((m: any) => [m.email, m.role])).toEqual([
      [root.email, 'root_admin'],
      [admin.email, 'admin'],
      [member.email, 'member'],
      [member2.email, 'member'],
    ]);
    expect(r.body.data.members[0]).toMatchObject({ userId: root.userId, fullName: 'Root' });
    expect(r.body.data.nextPageToken).toBe('');
  });

  test('pages with an opaque token; page_size is clamped, not refused', async () => {
    const first = await members(root, '?pageSize=3');
    expect(first.body.data.members).toHaveLength(3);
    const token = first.body.data.nextPageToken;
    expect(token).toMatch(/^[\w-]+$/);
    const second = await members(root, `?pageSize=3&pageToken=${token}`);
    expect(second.body.data.members.map((m: any) => m.email)).toEqual([member2.email]);
    expect(second.body.data.nextPageToken).toBe('');
    expect((await members(root, '?pageSize=5000')).body.data.members).toHaveLength(4);
  });

  test('a bad page token or a negative page size is a 400', async () => {
    expect((await members(root, '?pageToken=garbage')).status).toBe(400);
    expect((await members(root, '?pageSize=-1')).status).toBe(400);
  });
});

describe('UpdateMemberRole', () => {
  test('a member cannot change roles', async () => {
    const r = await setRole(member, member2.userId, 'admin');
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('FORBIDDEN');
  });

  test('an admin promotes a member to admin and back, effective on the next request', async () => {
    // As a member, member2 cannot see invitations (admin only) …
    const list = () => rest(w.server.url, 'GET', `/api/user/organizations/${org}/invitations`, { headers: session(member2) });
    expect((await list()).status).toBe(403);
    const up = await setRole(admin, member2.userId, 'admin');
    expect(up.status).toBe(200);
    expect(up.body.data.member).toMatchObject({ userId: member2.userId, email: member2.email, role: 'admin' });
    // … and with the same session can at once after the promotion (the role cache was invalidated).
    expect((await list()).status).toBe(200);
    expect((await setRole(admin, member2.userId, 'member')).status).toBe(200);
    expect((await list()).status).toBe(403);
  });

  test('nobody grants a role above their own, or changes someone above them', async () => {
    const grant = await setRole(admin, member.userId, 'root_admin');
    expect(grant.status).toBe(403);
    expect(grant.body.message).toMatch(/above your own/);
    expect((await setRole(admin, root.userId, 'member')).status).toBe(403);
    expect((await remove(admin, root.userId)).status).toBe(403);
  });

  test('an unknown role is a validation error; a user who is not a member is not found', async () => {
    const bad = await setRole(root, member.userId, 'owner');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_ERROR');
    expect((await setRole(root, '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'member')).status).toBe(404);
  });

  test('the last root_admin can be neither demoted nor removed, on REST and gRPC', async () => {
    const demote = await setRole(root, root.userId, 'admin');
    expect(demote.status).toBe(400);
    expect(demote.body).toMatchObject({ code: 'BAD_REQUEST', message: 'An organization must keep at least one root_admin' });
    expect((await remove(root, root.userId)).status).toBe(400);
    const grpc = orgClient(w.server.url, 'grpc');
    const err = await grpc.updateMemberRole({ organizationId: org, userId: root.userId, role: 'member' }, { headers: session(root) }).catch((e) => e);
    expect(ConnectError.from(err).code).toBe(Code.FailedPrecondition);
    expect(ConnectError.from(err).rawMessage).toBe('An organization must keep at least one root_admin');
  });

  test('with a second root_admin, the first may step down', async () => {
    const grpc = orgClient(w.server.url, 'grpc');
    const res = await grpc.updateMemberRole({ organizationId: org, userId: admin.userId, role: 'root_admin' }, { headers: session(root) });
    expect(res.member?.role).toBe('root_admin');
    expect((await setRole(root, root.userId, 'admin')).status).toBe(200);
    // Now `admin` is the only root_admin.
    expect((await setRole(admin, admin.userId, 'member')).status).toBe(400);
    expect((await setRole(admin, root.userId, 'root_admin')).status).toBe(200);
  });
});

describe('RemoveMember', () => {
  test('a member cannot remove someone else', async () => {
    expect((await remove(member2, member.userId)).status).toBe(403);
  });

  test('a member may leave; the organization is then gone from their view', async () => {
    const extra = await newUser(w, 'Leaver');
    await join(w, root, org, extra, 'member');
    expect((await remove(extra, extra.userId)).status).toBe(200);
    expect((await rest(w.server.url, 'GET', `/api/user/organizations/${org}`, { headers: session(extra) })).status).toBe(404);
    const mine = await rest(w.server.url, 'GET', '/api/user/organizations', { headers: session(extra) });
    expect(mine.body.data.organizations.map((o: any) => o.id)).not.toContain(org);
  });

  test('an admin removes a member; the member loses access at once', async () => {
    const extra = await newUser(w, 'Removed');
    await join(w, root, org, extra, 'member');
    expect((await members(extra)).status).toBe(200); // warm the role cache
    expect((await remove(root, extra.userId)).status).toBe(200);
    expect((await members(extra)).status).toBe(404);
    expect((await remove(root, extra.userId)).status).toBe(404);
  });

  test('two root_admins demoting each other at once: one wins, a root_admin remains', async () => {
    const a = await newUser(w, 'Twin A');
    const b = await newUser(w, 'Twin B');
    const o = (await createOrg(w, a, { name: 'Twins' })).id;
    await join(w, a, o, b, 'root_admin');
    const results = await Promise.all([setRole(a, b.userId, 'admin', o), setRole(b, a.userId, 'admin', o)]);
    // The loser sees either its own demotion (403) or the last-root_admin rule (400).
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect([400, 403]).toContain(results.find((r) => r.status !== 200)!.status);
    const list = await rest(w.server.url, 'GET', `/api/user/organizations/${o}/members`, { headers: session(a) });
    expect(list.body.data.members.filter((m: any) => m.role === 'root_admin')).toHaveLength(1);
  });
});
