// Credentials that carry scopes (API keys, exchanged tokens) act with their scopes ∩ the scopes of
// their user's CURRENT role in the organization; pins and default tenants. The principals are the
// shapes the API-key and token modules produce, served by a verifier registered on the real server.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Principal } from '../../src/modules/common/principal.js';
import type { TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { createOrg, join, newUser, principals, session, startWorld, type World } from './fixtures.js';

let w: World;
let root: TestUser, admin: TestUser, member: TestUser;
let org: string, other: string;
let credential: (p: Principal) => string;

const call = (method: string, path: string, headers: Record<string, string>, body?: object) => rest(w.server.url, method, path, { headers, body });
const key = (user: TestUser, scopes: string[], extra: Partial<Extract<Principal, { kind: 'apiKey' }>> = {}) => ({
  'x-api-key': credential({ kind: 'apiKey', userId: user.userId, keyId: `key_${Math.random().toString(36).slice(2)}`, scopes, ...extra }),
});

beforeAll(async () => {
  w = await startWorld();
  credential = principals(w);
  [root, admin, member] = await Promise.all([newUser(w, 'Root'), newUser(w, 'Admin'), newUser(w, 'Member')]);
  org = (await createOrg(w, root, { name: 'Scoped', type: 'partner' })).id;
  other = (await createOrg(w, root, { name: 'Other' })).id;
  await join(w, root, org, admin, 'admin');
  await join(w, root, org, member, 'member');
  await join(w, root, other, member, 'member');
});
afterAll(() => w?.stop());

test('a member’s key with read and write gets only what a member may do', async () => {
  const k = key(member, ['read', 'write']);
  expect((await call('GET', `/api/user/organizations/${org}/members`, k)).status).toBe(200);
  const role = await call('PATCH', `/api/user/organizations/${org}/members/${member.userId}`, k, { role: 'admin' });
  expect(role).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
  expect((await call('GET', `/api/user/organizations/${org}/audit-events`, k)).status).toBe(403);
});

test('a key lacking the scope is refused even when the role would allow it', async () => {
  const readOnly = key(admin, ['read']);
  expect((await call('GET', `/api/user/organizations/${org}/invitations`, readOnly)).status).toBe(200);
  const invite = await call('POST', `/api/user/organizations/${org}/invitations`, readOnly, { email: 'x@example.com' });
  expect(invite.status).toBe(403);
  expect(invite.body.message).toBe('Missing scope members:write');
  const downstreamOnly = key(admin, ['projects:write']);
  expect((await call('GET', `/api/user/organizations/${org}/members`, downstreamOnly)).status).toBe(403);
});

test('rights follow the creator’s current role: demotion and removal take effect on the next call', async () => {
  const creator = await newUser(w, 'Creator');
  await join(w, root, org, creator, 'admin');
  const k = key(creator, ['read', 'write', 'audit:read']);
  const audit = () => call('GET', `/api/user/organizations/${org}/audit-events`, k);
  expect((await audit()).status).toBe(200);
  await rest(w.server.url, 'PATCH', `/api/user/organizations/${org}/members/${creator.userId}`, { body: { role: 'member' }, headers: session(root) });
  expect((await audit()).status).toBe(403);
  await rest(w.server.url, 'DELETE', `/api/user/organizations/${org}/members/${creator.userId}`, { headers: session(root) });
  expect((await call('GET', `/api/user/organizations/${org}/members`, k)).status).toBe(404);
});

test('a pinned key is refused (403) in any other organization, even one its creator belongs to', async () => {
  const pinned = key(member, ['read'], { organizationId: org, pinnedOrganizationId: org });
  expect((await call('GET', `/api/user/organizations/${org}/members`, pinned)).status).toBe(200);
  const elsewhere = await call('GET', `/api/user/organizations/${other}/members`, pinned);
  expect(elsewhere).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
  expect((await call('GET', '/v2/partner/organizations', { ...pinned, orgid: other })).status).toBe(403);
  // ListMyOrganizations shows only the pinned organization.
  const mine = await call('GET', '/api/user/organizations', pinned);
  expect(mine.body.data.organizations.map((o: any) => o.id)).toEqual([org]);
});

test('a key of an organization uses it as the tenant when no header names one', async () => {
  const orgKey = key(admin, ['read'], { organizationId: org });
  const clients = await call('GET', '/v2/partner/organizations', orgKey);
  expect(clients).toMatchObject({ status: 200, body: { data: { organizations: [] } } });
  const personal = key(admin, ['read']);
  const missing = await call('GET', '/v2/partner/organizations', personal);
  expect(missing).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
});

test('an exchanged token acts only in its organization, with its scopes ∩ the user’s role', async () => {
  const token = (organizationId: string, scopes: string[]) => ({
    authorization: `Bearer ${credential({ kind: 'jwt', userId: member.userId, tokenId: 'jti', organizationId, scopes, actor: { keyId: 'key_x', userId: root.userId } })}`,
  });
  expect((await call('GET', `/api/user/organizations/${org}/members`, token(org, ['read']))).status).toBe(200);
  expect((await call('GET', `/api/user/organizations/${other}/members`, token(org, ['read']))).status).toBe(403);
  expect((await call('GET', `/api/user/organizations/${org}/audit-events`, token(org, ['read']))).status).toBe(403);
});

test('sessions and sign-in tokens carry the user’s full role (no scopes to intersect)', async () => {
  const jwt = { authorization: `Bearer ${credential({ kind: 'jwt', userId: admin.userId, tokenId: 'jti-2' })}` };
  expect((await call('GET', `/api/user/organizations/${org}/audit-events`, jwt)).status).toBe(200);
  expect((await call('GET', `/api/user/organizations/${org}/audit-events`, session(admin))).status).toBe(200);
});
