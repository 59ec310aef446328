// Invitation lifecycle, with the email received over real SMTP: invite, accept once as the invited
// account, re-invite replaces, revoke, expiry after 7 days.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { signUpAndIn, type TestUser, uniqueEmail } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { linkOf, tokenOf } from '../helpers/smtp.js';
import { createOrg, invitationMail, invite, newUser, orgClient, principals, session, startWorld, type World } from './fixtures.js';

let w: World;
let admin: TestUser, member: TestUser, stranger: TestUser;
let org: string;

const accept = (as: { cookie: string } | Record<string, string>, invitationId: string, token: string) =>
  rest(w.server.url, 'POST', `/api/user/invitations/${invitationId}/accept`, { body: { token }, headers: 'cookie' in as ? session(as as TestUser) : (as as Record<string, string>) });
const pending = async () =>
  (await rest(w.server.url, 'GET', `/api/user/organizations/${org}/invitations`, { headers: session(admin) })).body.data.invitations as { id: string; email: string; role: string }[];

beforeAll(async () => {
  w = await startWorld();
  [admin, member, stranger] = await Promise.all([newUser(w, 'Ada Admin'), newUser(w, 'Member'), newUser(w, 'Stranger')]);
  org = (await createOrg(w, admin, { name: 'Invitations Ltd' })).id;
  const m = await invite(w, admin, org, member.email);
  await accept(member, m.invitationId, m.token);
});
afterAll(() => w?.stop());

test('an admin invites an email; the link arrives over SMTP and the API never returns the token', async () => {
  const email = uniqueEmail('bob');
  const r = await rest(w.server.url, 'POST', `/api/user/organizations/${org}/invitations`, { body: { email: email.toUpperCase(), role: 'admin' }, headers: session(admin) });
  expect(r.status).toBe(200);
  const inv = r.body.data.invitation;
  expect(inv).toMatchObject({ organizationId: org, email, role: 'admin' });
  const days = (Date.parse(inv.expiresAt) - Date.parse(inv.createdAt)) / 86_400_000;
  expect(days).toBeCloseTo(7, 2);
  const mail = await invitationMail(w, email);
  expect(mail.subject).toBe('You are invited to join Invitations Ltd');
  expect(mail.text).toContain('Ada Admin');
  expect(linkOf(mail)).toContain(`/invitations/${inv.id}?token=`);
  expect(JSON.stringify(r.body)).not.toContain(tokenOf(mail));
  expect((await pending()).map((i) => i.email)).toContain(email);

  // Bob has no account yet: he signs up, signs in, and accepts with the link's token.
  const bob = await signUpAndIn(w.server.url, 'Bob', email);
  const wrong = await accept(stranger, inv.id, tokenOf(mail));
  expect(wrong.status).toBe(404);
  const badToken = await accept(bob, inv.id, 'x'.repeat(43));
  expect(badToken.status).toBe(404);
  expect(badToken.body.message).toBe(wrong.body.message); // no hint which part was wrong

  const ok = await accept(bob, inv.id, tokenOf(mail));
  expect(ok.status).toBe(200);
  expect(ok.body.data.organization).toMatchObject({ id: org, role: 'admin' });
  const members = await rest(w.server.url, 'GET', `/api/user/organizations/${org}/members`, { headers: session(bob) });
  expect(members.body.data.members.find((m: any) => m.email === email)?.role).toBe('admin');
  // Single use.
  expect((await accept(bob, inv.id, tokenOf(mail))).status).toBe(404);
  expect((await pending()).map((i) => i.email)).not.toContain(email);
});

test('re-inviting replaces the pending invitation: the old link stops working', async () => {
  const dave = await newUser(w, 'Dave');
  const first = await invite(w, admin, org, dave.email, 'admin');
  const second = await invite(w, admin, org, dave.email, 'member');
  expect((await pending()).filter((i) => i.email === dave.email)).toEqual([expect.objectContaining({ id: second.invitationId, role: 'member' })]);
  expect((await accept(dave, first.invitationId, first.token)).status).toBe(404);
  const ok = await accept(dave, second.invitationId, second.token);
  expect(ok.body.data.organization.role).toBe('member');
});

test('a revoked invitation cannot be accepted, and revoking twice is 404', async () => {
  const erin = await newUser(w, 'Erin');
  const inv = await invite(w, admin, org, erin.email);
  const url = `/api/user/organizations/${org}/invitations/${inv.invitationId}`;
  expect((await rest(w.server.url, 'DELETE', url, { headers: session(admin) })).status).toBe(200);
  expect((await accept(erin, inv.invitationId, inv.token)).status).toBe(404);
  expect((await rest(w.server.url, 'DELETE', url, { headers: session(admin) })).status).toBe(404);
});

test('only admins invite; members, bad emails, root_admin invitations and existing members are refused', async () => {
  const path = `/api/user/organizations/${org}/invitations`;
  expect((await rest(w.server.url, 'POST', path, { body: { email: uniqueEmail() }, headers: session(member) })).status).toBe(403);
  const badEmail = await rest(w.server.url, 'POST', path, { body: { email: 'not-an-email' }, headers: session(admin) });
  expect(badEmail).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
  const root = await rest(w.server.url, 'POST', path, { body: { email: uniqueEmail(), role: 'root_admin' }, headers: session(admin) });
  expect(root).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
  const existing = await rest(w.server.url, 'POST', path, { body: { email: member.email }, headers: session(admin) });
  expect(existing).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
});

test('invitations work over gRPC too, and API keys cannot accept for a user', async () => {
  const gina = await newUser(w, 'Gina');
  const grpc = orgClient(w.server.url, 'grpc');
  const res = await grpc.inviteMember({ organizationId: org, email: gina.email, role: 'member' }, { headers: session(admin) });
  const mail = await invitationMail(w, gina.email);
  const key = principals(w)({ kind: 'apiKey', userId: gina.userId, keyId: 'key_1', scopes: ['read', 'write'] });
  const byKey = await accept({ 'x-api-key': key }, res.invitation!.id, tokenOf(mail));
  expect(byKey.status).toBe(403);
  const joined = await grpc.acceptInvitation({ invitationId: res.invitation!.id, token: tokenOf(mail) }, { headers: session(gina) });
  expect(joined.organization).toMatchObject({ id: org, role: 'member' });
});

test('an invitation expires after 7 days', async () => {
  const frank = await newUser(w, 'Frank');
  const inv = await invite(w, admin, org, frank.email);
  w.server.clock.advance(7 * 24 * 3600 + 1);
  try {
    expect((await pending()).map((i) => i.email)).not.toContain(frank.email);
    expect((await accept(frank, inv.invitationId, inv.token)).status).toBe(404);
  } finally {
    w.server.clock.advance(-(7 * 24 * 3600 + 1));
  }
});
