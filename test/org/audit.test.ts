// The audit log: every security event of an organization appears exactly once, in that organization,
// with actor, target, IP and user agent; a change that fails writes no event; ListAuditEvents pages
// newest first and filters by type and time.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readPage } from '../../src/modules/common/page-token.js';
import { PASSWORD, type TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { auditTypes, createOrg, invite, newUser, session, startWorld, type World } from './fixtures.js';

let w: World;
let owner: TestUser, bob: TestUser;
let org: string, client: string, keyId: string;
const secrets: string[] = [PASSWORD, 'wrong-password-123'];
const UA = { 'user-agent': 'audit-test/1.0' };

const count = (types: string[]) => types.reduce<Record<string, number>>((c, t) => ((c[t] = (c[t] ?? 0) + 1), c), {});
const events = async (query = '', as = owner, o = org) => rest(w.server.url, 'GET', `/api/user/organizations/${o}/audit-events${query}`, { headers: session(as) });

beforeAll(async () => {
  w = await startWorld();
  [owner, bob] = await Promise.all([newUser(w, 'Owner'), newUser(w, 'Bob')]);
  const h = session(owner, UA);
  org = (await rest(w.server.url, 'POST', '/api/user/organizations', { body: { name: 'Audited', type: 'partner' }, headers: h })).body.data.id;
  await rest(w.server.url, 'PATCH', `/api/user/organizations/${org}`, { body: { name: 'Audited Inc' }, headers: h });
  // Member invited, joined, role changed.
  const inv = await invite(w, owner, org, bob.email);
  secrets.push(inv.token);
  await rest(w.server.url, 'POST', `/api/user/invitations/${inv.invitationId}/accept`, { body: { token: inv.token }, headers: session(bob, UA) });
  await rest(w.server.url, 'PATCH', `/api/user/organizations/${org}/members/${bob.userId}`, { body: { role: 'admin' }, headers: h });
  // An API key of the organization created and regenerated; with its new secret it revokes an
  // invitation (the key is the actor); then the key is revoked.
  const created = await rest(w.server.url, 'POST', '/api/auth/api-key/create', { body: { name: 'ci' }, headers: session(owner, { ...UA, orgid: org }) });
  keyId = created.body.data.id;
  const regenerated = await rest(w.server.url, 'POST', `/api-key/regenerate/${keyId}`, { headers: session(owner, { ...UA, orgid: org }) });
  secrets.push(created.body.data.key, regenerated.body.data.key);
  const carol = await invite(w, owner, org, 'carol@example.com');
  secrets.push(carol.token);
  await rest(w.server.url, 'DELETE', `/api/user/organizations/${org}/invitations/${carol.invitationId}`, { headers: { ...UA, 'x-api-key': regenerated.body.data.key } });
  await rest(w.server.url, 'DELETE', `/api-key/${keyId}`, { headers: session(owner, { ...UA, orgid: org }) });
  // Bob signs in, fails to sign in once, and revokes that new session.
  const signIn = await rest(w.server.url, 'POST', '/api/auth/sign-in/email', { body: { email: bob.email, password: PASSWORD }, headers: UA });
  await rest(w.server.url, 'POST', '/api/auth/sign-in/email', { body: { email: bob.email, password: 'wrong-password-123' }, headers: UA });
  await rest(w.server.url, 'DELETE', `/api/user/sessions/${signIn.body.data.sessionId}`, { headers: session(bob, UA) });
  // A client created in the portfolio, then deleted.
  client = (await rest(w.server.url, 'POST', '/v2/partner/organizations', { body: { name: 'Client' }, headers: session(owner, { ...UA, orgid: org }) })).body.data.organization.id;
  await rest(w.server.url, 'DELETE', `/api/user/organizations/${client}`, { headers: h });
  // Bob removed.
  await rest(w.server.url, 'DELETE', `/api/user/organizations/${org}/members/${bob.userId}`, { headers: h });
});
afterAll(() => w?.stop());

describe('recording', () => {
  test('each event type appears exactly once in the organization it belongs to', async () => {
    expect(count(await auditTypes(w, owner, org))).toEqual({
      'organization.created': 1,
      'organization.updated': 1,
      'invitation.created': 2,
      'invitation.accepted': 1,
      'member.added': 1,
      'invitation.revoked': 1,
      'member.role_changed': 1,
      'user.signed_in': 1,
      'user.sign_in_failed': 1,
      'session.revoked': 1,
      'organization.client_linked': 1,
      'member.removed': 1,
      'api_key.created': 1,
      'api_key.regenerated': 1,
      'api_key.revoked': 1,
    });
  });

  test('events carry actor, target, IP, user agent and details', async () => {
    const all = (await events('?pageSize=200')).body.data.auditEvents as any[];
    const role = all.find((e) => e.type === 'member.role_changed');
    expect(role).toMatchObject({
      organizationId: org,
      actorType: 'user',
      actorId: owner.userId,
      targetType: 'user',
      targetId: bob.userId,
      ip: '127.0.0.1',
      userAgent: 'audit-test/1.0',
      metadata: { from: 'member', to: 'admin' },
    });
    expect(all.find((e) => e.type === 'invitation.accepted')).toMatchObject({ actorId: bob.userId, targetId: bob.userId, metadata: { role: 'member' } });
    expect(all.find((e) => e.type === 'organization.client_linked')).toMatchObject({ targetType: 'organization', targetId: client });
    expect(all.find((e) => e.type === 'user.sign_in_failed')).toMatchObject({ actorId: bob.userId, ip: '127.0.0.1' });
    // A change made with an API key names the key as the actor.
    expect(all.find((e) => e.type === 'invitation.revoked')).toMatchObject({ actorType: 'api_key', actorId: keyId, userAgent: 'audit-test/1.0' });
    expect(all.find((e) => e.type === 'api_key.revoked')).toMatchObject({ actorType: 'user', actorId: owner.userId, targetId: keyId });
    // Never a secret: no password, no invitation token.
    for (const secret of secrets) expect(JSON.stringify(all)).not.toContain(secret);
  });

  test('a deleted organization keeps its audit trail (created, linked, deleted), and its users', async () => {
    const em = w.server.deps.db.orm.em.fork();
    const { items } = await em.transactional(() => w.server.deps.audit.list(client, readPage(0, '')));
    expect(count(items.map((e) => e.type))).toEqual({ 'organization.created': 1, 'organization.partner_linked': 1, 'organization.deleted': 1 });
    expect(items[0]).toMatchObject({ type: 'organization.deleted', actorId: owner.userId });
    expect((await rest(w.server.url, 'GET', '/api/user/me', { headers: session(owner) })).status).toBe(200);
  });

  test('a change that fails writes no event', async () => {
    const before = await auditTypes(w, owner, org);
    const other = await createOrg(w, owner, { name: 'Other' });
    const h = session(owner);
    // The slug is taken: the update (and its event, appended in the same transaction) rolls back.
    expect((await rest(w.server.url, 'PATCH', `/api/user/organizations/${org}`, { body: { name: 'Renamed', slug: other.slug }, headers: h })).status).toBe(409);
    expect((await rest(w.server.url, 'PATCH', `/api/user/organizations/${org}/members/${owner.userId}`, { body: { role: 'admin' }, headers: h })).status).toBe(400);
    expect((await rest(w.server.url, 'DELETE', `/api/user/organizations/${org}/members/${owner.userId}`, { headers: h })).status).toBe(400);
    expect((await rest(w.server.url, 'POST', `/api/user/organizations/${org}/invitations`, { body: { email: owner.email }, headers: h })).status).toBe(409);
    expect((await rest(w.server.url, 'POST', '/v2/partner/organizations', { body: { clientOrganizationId: org }, headers: session(owner, { orgid: org }) })).status).toBe(400);
    expect(await auditTypes(w, owner, org)).toEqual(before);
    expect((await rest(w.server.url, 'GET', `/api/user/organizations/${org}`, { headers: h })).body.data.name).toBe('Audited Inc');
  });
});

describe('ListAuditEvents', () => {
  test('newest first, in pages with opaque tokens', async () => {
    const all = (await events('?pageSize=200')).body.data.auditEvents as any[];
    const times = all.map((e) => Date.parse(e.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(all.at(-1).type).toBe('organization.created');
    const first = await events('?pageSize=4');
    const second = await events(`?pageSize=4&pageToken=${first.body.data.nextPageToken}`);
    expect([...first.body.data.auditEvents, ...second.body.data.auditEvents].map((e: any) => e.id)).toEqual(all.slice(0, 8).map((e) => e.id));
  });

  test('filters by type and by time range', async () => {
    const byType = await events('?type=invitation.created');
    expect(byType.body.data.auditEvents.map((e: any) => e.metadata.email)).toEqual(['carol@example.com', bob.email]);
    const mark = w.server.clock.now();
    w.server.clock.advance(3600);
    await rest(w.server.url, 'PATCH', `/api/user/organizations/${org}`, { body: { name: 'Audited Later' }, headers: session(owner) });
    const later = new Date(mark.getTime() + 1800_000).toISOString();
    const after = await events(`?startTime=${later}`);
    expect(after.body.data.auditEvents.map((e: any) => e.type)).toEqual(['organization.updated']);
    const before = await events(`?endTime=${later}&type=organization.updated`);
    expect(before.body.data.auditEvents).toHaveLength(1);
    expect(before.body.data.auditEvents[0].metadata.name.to).toBe('Audited Inc');
    const inverted = await events(`?startTime=${later}&endTime=${mark.toISOString()}`);
    expect(inverted.status).toBe(400);
  });

  test('admins only: a member gets 403; an outsider gets 404', async () => {
    const member = await newUser(w, 'Member');
    const inv = await invite(w, owner, org, member.email);
    await rest(w.server.url, 'POST', `/api/user/invitations/${inv.invitationId}/accept`, { body: { token: inv.token }, headers: session(member) });
    expect((await events('', member)).status).toBe(403);
    const outsider = await newUser(w, 'Outsider');
    expect((await events('', outsider)).status).toBe(404);
  });
});
