// What a key may do: its scopes ∩ its creator's CURRENT role, confined to its organization (pins,
// partner portfolios), and who may see and manage which keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { cookie, createKey, createOrg, join, newUser, setRole, startWorld, type World, xApiKey } from './fixtures.js';

let w: World;
let owner: TestUser;
let org: string;
beforeAll(async () => {
  w = await startWorld();
  owner = await newUser(w, 'Owner');
  org = await createOrg(w, owner, { name: 'Acme', type: 'paid' });
});
afterAll(async () => {
  await w?.stop();
});

const auditOf = (key: string, organizationId: string) => rest(w.url, 'GET', `/api/user/organizations/${organizationId}/audit-events`, { headers: xApiKey(key) });

describe('scopes at creation', () => {
  it('a member cannot mint a Latchkey scope beyond the member role; shorthands narrow instead', async () => {
    const member = await newUser(w, 'Member');
    await join(w, owner, org, member, 'member');
    const tooMuch = await rest(w.url, 'POST', '/api/auth/api-key/create', { headers: cookie(member, { orgid: org }), body: { name: 'x', scopes: ['members:write'] } });
    expect(tooMuch.status).toBe(403);
    expect(tooMuch.body.message).toMatch(/members:write/);
    const k = await createKey(w, cookie(member, { orgid: org }));
    expect(k.scopes).toEqual(['read', 'write']);
    // `read` for a member does not include audit:read.
    expect((await auditOf(k.key, org)).status).toBe(403);
    const members = await rest(w.url, 'GET', `/api/user/organizations/${org}/members`, { headers: xApiKey(k.key) });
    expect(members.status).toBe(200);
  });

  it('downstream scopes are stored as given', async () => {
    const k = await createKey(w, cookie(owner, { orgid: org }), { scopes: ['projects:write', 'billing.read'] });
    expect(k.scopes).toEqual(['projects:write', 'billing.read']);
  });

  it('a key that mints a key passes on at most its own scopes', async () => {
    const minter = await createKey(w, cookie(owner, { orgid: org }), { scopes: ['api-keys:write', 'user:read'] });
    const refused = await rest(w.url, 'POST', '/api/auth/api-key/create', { headers: xApiKey(minter.key), body: { name: 'x', scopes: ['members:read'] } });
    expect(refused.status).toBe(403);
    const child = await createKey(w, xApiKey(minter.key));
    expect(child.apiKey.organizationId).toBe(org);
    expect(child.scopes.sort()).toEqual(['api-keys:write', 'user:read']);
  });

  it('validation errors are 400 VALIDATION_ERROR', async () => {
    for (const body of [
      { name: '' },
      { name: 'x', expiresIn: 60, expiresAt: new Date(Date.now() + 60_000).toISOString() },
      { name: 'x', expiresAt: new Date(Date.now() - 60_000).toISOString() },
      { name: 'x', rateLimit: { requestsPerMinute: -1 } },
      { name: 'x', remaining: -5 },
      { name: 'x', remaining: 5, refill: { interval: 'fortnight', amount: 5 } },
      { name: 'x', scopes: ['has space'] },
    ]) {
      const r = await rest(w.url, 'POST', '/api/auth/api-key/create', { headers: cookie(owner, { orgid: org }), body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.code).toBe('VALIDATION_ERROR');
    }
  });
});

describe("the creator's current role bounds a live key", () => {
  it('demotion narrows the key at once; promotion restores it; removal stops it', async () => {
    const admin = await newUser(w, 'Admin');
    await join(w, owner, org, admin, 'admin');
    const k = await createKey(w, cookie(admin, { orgid: org }), { scopes: ['audit:read', 'members:read'] });
    expect((await auditOf(k.key, org)).status).toBe(200);
    await setRole(w, owner, org, admin.userId, 'member');
    const narrowed = await auditOf(k.key, org);
    expect(narrowed.status).toBe(403);
    const members = await rest(w.url, 'GET', `/api/user/organizations/${org}/members`, { headers: xApiKey(k.key) });
    expect(members.status).toBe(200);
    await setRole(w, owner, org, admin.userId, 'admin');
    expect((await auditOf(k.key, org)).status).toBe(200);
    const removed = await rest(w.url, 'DELETE', `/api/user/organizations/${org}/members/${admin.userId}`, { headers: cookie(owner) });
    expect(removed.status).toBe(200);
    const after = await rest(w.url, 'GET', `/api/user/organizations/${org}/members`, { headers: xApiKey(k.key) });
    expect(after.status).toBe(401);
    expect(after.body.message).toMatch(/no longer a member/);
  });

  it('deleting the organization stops its keys', async () => {
    const doomed = await createOrg(w, owner, { name: 'Doomed' });
    const k = await createKey(w, cookie(owner, { orgid: doomed }), { scopes: ['orgs:read'] });
    expect((await rest(w.url, 'GET', `/api/user/organizations/${doomed}`, { headers: xApiKey(k.key) })).status).toBe(200);
    const del = await rest(w.url, 'DELETE', `/api/user/organizations/${doomed}`, { headers: cookie(owner) });
    expect(del.status).toBe(200);
    const r = await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) });
    expect(r.status).toBe(401);
  });
});

describe('where a key acts', () => {
  it('a key of an organization stays in it, even when its creator belongs elsewhere too', async () => {
    const k = await createKey(w, cookie(owner, { orgid: org }), { scopes: ['orgs:read', 'api-keys:read'] });
    expect((await rest(w.url, 'GET', `/api/user/organizations/${org}`, { headers: xApiKey(k.key) })).status).toBe(200);
    const elsewhere = await rest(w.url, 'GET', `/api/user/organizations/${owner.organizationId}`, { headers: xApiKey(k.key) });
    expect(elsewhere.status).toBe(403);
    const list = await rest(w.url, 'GET', '/api-key/list', { headers: xApiKey(k.key, { orgid: owner.organizationId }) });
    expect(list.status).toBe(403);
  });

  it('a pinned token gets 403 when the tenant header names another organization', async () => {
    const pinned = await createKey(w, cookie(owner), { scopes: ['api-keys:read', 'orgs:read'], metadata: { organizationId: org } });
    const r = await rest(w.url, 'GET', '/api-key/list', { headers: xApiKey(pinned.key, { orgid: owner.organizationId }) });
    expect(r.status).toBe(403);
    const own = await rest(w.url, 'GET', '/api-key/list', { headers: xApiKey(pinned.key, { orgid: org }) });
    expect(own.status).toBe(200);
  });

  it("a personal token acts in each of its owner's organizations with the role there", async () => {
    const member = await newUser(w, 'Pat Member');
    await join(w, owner, org, member, 'member');
    const pat = await createKey(w, cookie(member), { scopes: ['orgs:read', 'audit:read'] });
    expect(pat.apiKey.personal).toBe(true);
    expect((await rest(w.url, 'GET', `/api/user/organizations/${org}`, { headers: xApiKey(pat.key) })).status).toBe(200);
    expect((await rest(w.url, 'GET', `/api/user/organizations/${member.organizationId}`, { headers: xApiKey(pat.key) })).status).toBe(200);
    // audit:read holds in the member's own organization (root_admin) but not in Acme (member).
    expect((await auditOf(pat.key, member.organizationId)).status).toBe(200);
    expect((await auditOf(pat.key, org)).status).toBe(403);
  });
});

describe('who sees and manages keys', () => {
  it('members see and manage their own keys; admins every key of the organization', async () => {
    const m1 = await newUser(w, 'M One');
    const m2 = await newUser(w, 'M Two');
    await join(w, owner, org, m1, 'member');
    await join(w, owner, org, m2, 'member');
    const k1 = await createKey(w, cookie(m1, { orgid: org }), { name: 'm1 key' });
    const list2 = await rest(w.url, 'GET', '/api-key/list', { headers: cookie(m2, { orgid: org }) });
    expect(list2.body.data.apiKeys.map((k: any) => k.id)).not.toContain(k1.id);
    expect((await rest(w.url, 'GET', `/api-key/${k1.id}`, { headers: cookie(m2, { orgid: m2.organizationId }) })).status).toBe(404);
    expect((await rest(w.url, 'DELETE', `/api-key/${k1.id}`, { headers: cookie(m2, { orgid: m2.organizationId }) })).status).toBe(404);
    const adminList = await rest(w.url, 'GET', `/api/user/organizations/${org}/api-keys`, { headers: cookie(owner) });
    expect(adminList.body.data.apiKeys.map((k: any) => k.id)).toContain(k1.id);
    const byCreator = await rest(w.url, 'GET', `/api/user/organizations/${org}/api-keys?createdByUserId=${m1.userId}`, { headers: cookie(owner) });
    expect(byCreator.body.data.apiKeys.map((k: any) => k.id)).toEqual([k1.id]);
    expect((await rest(w.url, 'GET', `/api-key/${k1.id}`, { headers: cookie(m1, { orgid: m1.organizationId }) })).status).toBe(200);
    expect((await rest(w.url, 'DELETE', `/api-key/${k1.id}`, { headers: cookie(owner, { orgid: owner.organizationId }) })).status).toBe(200);
    const revoked = await rest(w.url, 'GET', `/api/user/organizations/${org}/api-keys?status=revoked`, { headers: cookie(owner) });
    expect(revoked.body.data.apiKeys.map((k: any) => k.id)).toContain(k1.id);
    const active = await rest(w.url, 'GET', `/api/user/organizations/${org}/api-keys?status=active`, { headers: cookie(owner) });
    expect(active.body.data.apiKeys.map((k: any) => k.id)).not.toContain(k1.id);
  });

  it('lists page newest first', async () => {
    const u = await newUser(w, 'Pager');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createKey(w, cookie(u), { name: `k${i}` })).id);
    const seen: string[] = [];
    let token = '';
    do {
      const r = await rest(w.url, 'GET', `/api/user/api-keys?pageSize=2&pageToken=${token}`, { headers: cookie(u) });
      expect(r.status).toBe(200);
      seen.push(...r.body.data.apiKeys.map((k: any) => k.id));
      token = r.body.data.nextPageToken;
    } while (token);
    expect(seen).toEqual(ids.reverse());
    expect((await rest(w.url, 'GET', '/api/user/api-keys?status=bogus', { headers: cookie(u) })).status).toBe(400);
  });

  it('API_KEY_ORG_TYPES restricts the organizations that may hold keys', async () => {
    const w2 = await startWorld({ API_KEY_ORG_TYPES: 'test,paid' });
    try {
      const u = await newUser(w2, 'Typed');
      const r = await rest(w2.url, 'POST', '/api/auth/api-key/create', { headers: cookie(u, { orgid: u.organizationId }), body: { name: 'x' } });
      expect(r.status).toBe(403);
      const paid = await createOrg(w2, u, { name: 'Paid', type: 'paid' });
      expect((await rest(w2.url, 'POST', '/api/auth/api-key/create', { headers: cookie(u, { orgid: paid }), body: { name: 'x' } })).status).toBe(200);
    } finally {
      await w2.stop();
    }
  });
});
