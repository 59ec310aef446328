// Issue 10: concurrent organization writes (accepting, re-inviting the same emails, revoking,
// hostile-shaped bodies, renaming and deleting the organization) never answer 5xx. Without the
// transaction retry (RetryingEntityManager with one attempt) this test sees `deadlock detected`
// between DeleteOrganization and UpdateOrganization / RevokeInvitation / AcceptInvitation (delete
// locks the organization then its invitations; the others lock an invitation, or key-share the
// organization through a foreign key, first) → 500, and a deferred foreign-key failure at COMMIT
// of an invitation to the organization being deleted → 500. On PGlite (one transaction at a
// time) nothing can deadlock; the test still checks the answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookie, createOrg, newUser, startWorld, type World } from '../apikey/fixtures.js';
import type { TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { tokenOf } from '../helpers/smtp.js';

describe('concurrent organization writes', () => {
  let w: World;
  let owner: TestUser;
  beforeAll(async () => {
    w = await startWorld();
    owner = await newUser(w, 'Owner');
  }, 60_000);
  afterAll(() => w?.stop());

  async function invite(orgId: string, email: string, extra: Record<string, unknown> = {}) {
    return rest(w.url, 'POST', `/api/user/organizations/${orgId}/invitations`, { headers: cookie(owner), body: { email, role: 'member', ...extra } });
  }

  it('accept, re-invite (duplicate keys), revoke, prototype-pollution-shaped bodies and delete in parallel: no 5xx', async () => {
    const statuses: Record<string, number[]> = {};
    const note = (what: string, status: number) => (statuses[what] ??= []).push(status);
    for (let round = 0; round < 6; round++) {
      const orgId = await createOrg(w, owner, { name: `Deadlock ${round}` });
      const invitees = await Promise.all(Array.from({ length: 4 }, (_, i) => newUser(w, `Invitee${round}x${i}`)));
      const invitations: { user: TestUser; id: string; token: string }[] = [];
      for (const user of invitees) {
        const r = await invite(orgId, user.email);
        expect(r.status).toBe(200);
        let mail;
        do mail = await w.smtp.nextMail(user.email);
        while (!/invited/i.test(mail.subject));
        invitations.push({ user, id: r.body.data.invitation.id, token: tokenOf(mail) });
      }
      // Hostile shapes go through JSON.parse as own properties named __proto__/constructor.
      const polluted = `{"email":"${invitees[1].email}","role":"member","__proto__":{"role":"root_admin"},"constructor":{"prototype":{"admin":true}}}`;
      const ops: [string, () => Promise<{ status: number }>][] = [
        ...invitations.map((inv): [string, () => Promise<{ status: number }>] => [
          'accept',
          () => rest(w.url, 'POST', `/api/user/invitations/${inv.id}/accept`, { headers: cookie(inv.user), body: { token: inv.token } }),
        ]),
        ...invitees.map((u): [string, () => Promise<{ status: number }>] => ['re-invite', () => invite(orgId, u.email)]),
        ['revoke', () => rest(w.url, 'DELETE', `/api/user/organizations/${orgId}/invitations/${invitations[0].id}`, { headers: cookie(owner) })],
        ['polluted', () => rest(w.url, 'POST', `/api/user/organizations/${orgId}/invitations`, { headers: { ...cookie(owner), 'content-type': 'application/json' }, rawBody: polluted })],
        ['update', () => rest(w.url, 'PATCH', `/api/user/organizations/${orgId}`, { headers: cookie(owner), body: { name: `Renamed ${round}` } })],
        ['delete', () => rest(w.url, 'DELETE', `/api/user/organizations/${orgId}`, { headers: cookie(owner) })],
      ];
      const results = await Promise.all(ops.map(async ([what, op]) => [what, (await op()).status] as const));
      for (const [what, status] of results) note(what, status);
    }
    const all = Object.values(statuses).flat();
    expect(
      all.filter((s) => s >= 500),
      JSON.stringify(statuses),
    ).toEqual([]);
    expect(statuses.delete.every((s) => s === 200)).toBe(true); // the owner's delete always wins in the end
    // The organization really is gone, with nothing of it left half-written.
    const mine = await rest(w.url, 'GET', '/api/user/organizations', { headers: cookie(owner) });
    expect(mine.body.data.organizations.map((o: any) => o.organization?.name ?? o.name).filter((n: string) => /Deadlock|Renamed/.test(n))).toEqual([]);
  }, 180_000);
});
