// The escalation suite (issue 10): every role × every credential kind × every management RPC × the
// owner's level (self, peer, above, below), plus the partner paths and the four attacks of the
// black-box campaign as named cases; then the surfaces added since (OAuth clients, webhooks, SSO,
// the organization policy, key usage and IP allowlists), with an outsider and a read-only key too. Expectations come from the decided rules (one oracle per RPC);
// a refused case that succeeds is an escalation, and the summary counts them per group.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PASSWORD, signUpAndIn, uniqueEmail } from '../helpers/accounts.js';
import type { RestResponse } from '../helpers/clients.js';
import { tokenOf } from '../helpers/smtp.js';
import { enrolTotp } from '../mfa/helpers.js';
import { startDns, startStubIssuer, uniqueDomain } from '../sso/fixtures.js';
import {
  type Actor,
  buildWorld,
  CREDS,
  type CredKind,
  call,
  cookie,
  createOrg,
  credential,
  type Escalation,
  join,
  keyOf,
  LEVELS,
  type Level,
  member,
  newUser,
  ROLES,
  type Role,
  roleAt,
  signInWithApiKey,
  userAt,
  WHO,
  type Who,
} from './world.js';

/** 'allow' = 200; 'empty' = 200 with nothing in it (a list of an organization the caller is not in); a number = the refusal status the rule gives. */
type Expect = 'allow' | 'empty' | 400 | 401 | 403 | 404;
interface Case {
  role: Role;
  cred: CredKind;
  level: Level;
  expect: Expect;
}

let e: Escalation;
let dns: Awaited<ReturnType<typeof startDns>>;
const tally = new Map<string, { attempts: number; allowed: number; refused: number; escalations: number }>();

beforeAll(async () => {
  // A DNS server for SSO domain proofs; webhooks are queued, never sent (no worker).
  dns = await startDns();
  e = await buildWorld({ DNS_SERVERS: dns.server, SSO_ALLOW_INSECURE_IDP: 'true', WEBHOOK_WORKER: 'false' });
}, 120_000);
afterAll(async () => {
  const rows = [...tally].map(
    ([group, t]) => `${group.padEnd(34)} attempts ${String(t.attempts).padStart(3)}  allowed ${String(t.allowed).padStart(3)}  refused ${String(t.refused).padStart(3)}  escalations ${t.escalations}`,
  );
  console.log(`escalation suite:\n${rows.join('\n')}`);
  await e?.w.stop();
  await dns?.close();
});

/** Check one attempt against its expectation and count it. */
function judge(group: string, expected: Expect, r: RestResponse): void {
  const t = tally.get(group) ?? { attempts: 0, allowed: 0, refused: 0, escalations: 0 };
  tally.set(group, t);
  t.attempts++;
  const ok = r.status === 200;
  if (expected === 'empty') {
    const rows = ok && Object.values(r.body?.data ?? {}).some((v) => Array.isArray(v) && v.length > 0);
    if (rows) t.escalations++;
    else t.refused++;
    expect({ status: r.status, rows }).toEqual({ status: 200, rows: false });
    return;
  }
  if (expected === 'allow') t.allowed += ok ? 1 : 0;
  else if (ok) t.escalations++;
  else t.refused++;
  expect({ status: r.status, body: ok ? 'ok' : r.body }).toMatchObject({ status: expected === 'allow' ? 200 : expected });
}

/** Every role × credential × level where a user at that level exists, with the oracle's answer. */
function matrix(oracle: (role: Role, cred: CredKind, level: Level) => Expect | undefined, levels: Level[] = LEVELS): Case[] {
  const out: Case[] = [];
  for (const role of ROLES)
    for (const cred of CREDS)
      for (const level of levels) {
        if (level !== 'self' && !roleAt(role, level)) continue;
        const expected = oracle(role, cred, level);
        if (expected !== undefined) out.push({ role, cred, level, expect: expected });
      }
  return out;
}

const scoped = (cred: CredKind) => cred === 'orgKey' || cred === 'pat' || cred === 'exchanged';
const keyPath = (id: string) => `/api-key/${id}`;

// Keys: members manage only their own (others' are invisible: 404); admins manage keys of owners not
// above them; revoking is the one action an admin may take on a higher-ranked member's key.
const keyRule =
  (revoke: boolean) =>
  (role: Role, _cred: CredKind, level: Level): Expect => {
    if (level === 'self') return 'allow';
    if (role === 'member') return 404;
    if (level === 'above' && !revoke) return 403;
    return 'allow';
  };

describe('API keys of others, by the owner level', () => {
  test.each(matrix(keyRule(false)))('UpdateApiKey (widen scopes): $role with $cred on $level → $expect', async (c) => {
    const k = await keyOf(e, userAt(e, c.role, c.level)!);
    const r = await call(e, 'PATCH', keyPath(k.id), { ...e.creds[c.role][c.cred], orgid: e.org }, { name: 'widened', scopes: ['read', 'write'] });
    judge('UpdateApiKey', c.expect, r);
  });

  test.each(matrix(keyRule(false)))('RegenerateApiKey: $role with $cred on $level → $expect', async (c) => {
    const k = await keyOf(e, userAt(e, c.role, c.level)!);
    const r = await call(e, 'POST', `/api-key/regenerate/${k.id}`, { ...e.creds[c.role][c.cred], orgid: e.org }, {});
    judge('RegenerateApiKey', c.expect, r);
    if (c.expect !== 'allow') expect(JSON.stringify(r.body)).not.toMatch(/"key":"/);
  });

  test.each(matrix(keyRule(true)))('RevokeApiKey: $role with $cred on $level → $expect', async (c) => {
    const k = await keyOf(e, userAt(e, c.role, c.level)!);
    const r = await call(e, 'DELETE', keyPath(k.id), { ...e.creds[c.role][c.cred], orgid: e.org });
    judge('RevokeApiKey', c.expect, r);
  });
});

// Roles: nobody changes a member above them or grants a role above their own; members change nobody.
describe('members, by the target level', () => {
  const roleRule = (role: Role, _cred: CredKind, level: Level): Expect => {
    if (role === 'member') return 403;
    if (level === 'above') return 403;
    if (level === 'self' && role !== 'root_admin') return 403; // self-promotion to root_admin
    return 'allow';
  };
  test.each(matrix(roleRule))('UpdateMemberRole: $role with $cred on $level → $expect', async (c) => {
    const target = userAt(e, c.role, c.level)!;
    // Self: promote oneself to root_admin. Others: confirm the target's own role (checked like any change).
    const newRole = c.level === 'self' ? 'root_admin' : target.role;
    const r = await call(e, 'PATCH', `/api/user/organizations/${e.org}/members/${target.userId}`, e.creds[c.role][c.cred], { role: newRole });
    judge('UpdateMemberRole', c.expect, r);
  });

  // Anyone may leave (but a member's scoped credential lacks members:write); admins remove members not above them.
  const removeRule = (role: Role, cred: CredKind, level: Level): Expect => {
    if (level === 'self') return role === 'member' && scoped(cred) ? 403 : 'allow';
    if (role === 'member' || level === 'above') return 403;
    return 'allow';
  };
  test.each(matrix(removeRule))('RemoveMember: $role with $cred on $level → $expect', async (c) => {
    const root = e.users.root_admin[0];
    let headers = e.creds[c.role][c.cred];
    let target = userAt(e, c.role, c.level)!;
    if (c.level === 'self') {
      // Leaving ends the actor: a fresh one of the same role, with a fresh credential of the kind.
      target = await member(e.w, root, e.org, c.role, `Leaver ${c.role}`);
      headers = await credential(e.w, target, c.role, c.cred, e.org);
    } else if (c.expect === 'allow') target = await member(e.w, root, e.org, target.role, `Target ${target.role}`);
    const r = await call(e, 'DELETE', `/api/user/organizations/${e.org}/members/${target.userId}`, headers);
    judge('RemoveMember', c.expect, r);
  });

  // Invitations carry a role: never root_admin (400), never above the inviter; members invite nobody.
  const inviteRule = (role: Role, _cred: CredKind, level: Level): Expect | undefined => {
    if (level === 'self') return undefined;
    if (role === 'member') return 403;
    return roleAt(role, level) === 'root_admin' ? 400 : 'allow';
  };
  test.each(matrix(inviteRule))('InviteMember with the $level role: $role with $cred → $expect', async (c) => {
    const r = await call(e, 'POST', `/api/user/organizations/${e.org}/invitations`, e.creds[c.role][c.cred], { email: uniqueEmail('invitee'), role: roleAt(c.role, c.level) });
    judge('InviteMember', c.expect, r);
  });
});

describe('SignInWithApiKey, by the target user level', () => {
  // Only an organization API key; the target not above its creator; impersonation needs the scope (not a member's).
  const exchangeRule = (role: Role, cred: CredKind, level: Level): Expect => {
    if (cred === 'pat') return 403;
    if (cred !== 'orgKey') return 401;
    if (level === 'self') return 'allow';
    if (level === 'above' || role === 'member') return 403;
    return 'allow';
  };
  test.each(matrix(exchangeRule))('$role with $cred as x-api-key for $level → $expect', async (c) => {
    const actor = e.users[c.role][0];
    const target = userAt(e, c.role, c.level)!;
    let key: string;
    let keyId = 'ak_00000000000000000000000000';
    if (c.cred === 'orgKey' || c.cred === 'pat') {
      const k = await (c.cred === 'pat' ? credentialKey(actor, c.role, {}) : credentialKey(actor, c.role, { orgid: e.org }));
      (key = k.key), (keyId = k.id);
    } else {
      const h = e.creds[c.role][c.cred];
      key = h.cookie ?? h.authorization.replace(/^Bearer /, '');
    }
    const r = await signInWithApiKey(e.url, e.org, { key, keyId, userId: target.userId });
    judge('SignInWithApiKey', c.expect, r);
    if (r.status === 200 && c.level !== 'self') expect(JSON.parse(Buffer.from(r.body.id_token.split('.')[1], 'base64url').toString()).act.sub).toBe(actor.userId);
  });
  const credentialKey = (u: Escalation['users']['admin'][0], role: Role, h: Record<string, string>) =>
    call(e, 'POST', '/api/auth/api-key/create', { ...cookie(u), ...h }, { name: 'exchange', scopes: role === 'member' ? ['read', 'write'] : ['read', 'write', 'impersonate'] }).then(
      (r) => r.body.data as { id: string; key: string },
    );
});

describe('organization-wide actions', () => {
  let type = 'personal';
  test.each(matrix((role) => (role === 'root_admin' ? 'allow' : 403), ['self']))('UpdateOrganization type: $role with $cred → $expect', async (c) => {
    const next = type === 'test' ? 'personal' : 'test';
    const r = await call(e, 'PATCH', `/api/user/organizations/${e.org}`, e.creds[c.role][c.cred], { type: next });
    judge('UpdateOrganization type', c.expect, r);
    if (r.status === 200) type = next;
  });

  test.each(matrix((role) => (role === 'root_admin' ? 'allow' : 403), ['self']))('DeleteOrganization: $role with $cred → $expect', async (c) => {
    let org = e.org;
    let headers = e.creds[c.role][c.cred];
    if (c.expect === 'allow') {
      const root = e.users.root_admin[0];
      org = await createOrg(e.w, root, { name: 'To delete' });
      headers = await credential(e.w, root, 'root_admin', c.cred, org);
    }
    const r = await call(e, 'DELETE', `/api/user/organizations/${org}`, headers);
    judge('DeleteOrganization', c.expect, r);
  });

  // Linking needs the client's root_admin, signed in as themselves (no key or exchanged token).
  const partners = new Map<Role, string>();
  test.each(matrix((role, cred) => (role === 'root_admin' && (cred === 'session' || cred === 'jwt') ? 'allow' : 403), ['self']))(
    'AddClientOrganization {clientOrganizationId}: $role with $cred → $expect',
    async (c) => {
      const actor = e.users[c.role][0];
      if (!partners.has(c.role)) partners.set(c.role, await createOrg(e.w, actor, { name: `Partner of ${c.role}`, type: 'partner' }));
      const partner = partners.get(c.role)!;
      const client = c.expect === 'allow' ? await createOrg(e.w, actor, { name: 'Client' }) : e.org;
      const headers = await credential(e.w, actor, c.role, c.cred, partner);
      const r = await call(e, 'POST', '/v2/partner/organizations', { ...headers, orgid: partner }, { clientOrganizationId: client });
      judge('AddClientOrganization', c.expect, r);
    },
  );
});

describe('partner paths: a partner admin in a client holds admin, never root_admin, and only while linked', () => {
  let clientRoot: Escalation['users']['admin'][0], partnerRoot: Escalation['users']['admin'][0], partnerAdmin: Escalation['users']['admin'][0], partnerMember: Escalation['users']['admin'][0];
  let client: string, partner: string;
  const as = (u: { cookie: string }) => cookie(u);
  beforeAll(async () => {
    partnerRoot = { ...(await newUser(e.w, 'Partner Root')), role: 'root_admin' };
    partner = await createOrg(e.w, partnerRoot, { name: 'Agency', type: 'partner' });
    partnerAdmin = await member(e.w, partnerRoot, partner, 'admin', 'Agency Admin');
    partnerMember = await member(e.w, partnerRoot, partner, 'member', 'Agency Member');
    clientRoot = await member(e.w, partnerRoot, partner, 'admin', 'Client Root');
    client = await createOrg(e.w, clientRoot, { name: 'Consenting client' });
    // The client's root_admin consents: links the client into the partner's portfolio.
    const r = await call(e, 'POST', '/v2/partner/organizations', { ...as(clientRoot), orgid: partner }, { clientOrganizationId: client });
    expect(r.status).toBe(200);
  });

  const group = 'partner paths';
  test('a partner root_admin acts in the client as admin', async () => {
    const r = await call(e, 'GET', `/api/user/organizations/${client}/members`, as(partnerRoot));
    judge(group, 'allow', r);
    judge(group, 'allow', await call(e, 'POST', `/api/user/organizations/${client}/invitations`, as(partnerRoot), { email: uniqueEmail('hire'), role: 'member' }));
  });
  test('a partner root_admin cannot change the client type, delete it, demote its root_admin or invite a root_admin', async () => {
    judge(group, 403, await call(e, 'PATCH', `/api/user/organizations/${client}`, as(partnerRoot), { type: 'test' }));
    judge(group, 403, await call(e, 'DELETE', `/api/user/organizations/${client}`, as(partnerRoot)));
    judge(group, 403, await call(e, 'PATCH', `/api/user/organizations/${client}/members/${clientRoot.userId}`, as(partnerRoot), { role: 'member' }));
    judge(group, 400, await call(e, 'POST', `/api/user/organizations/${client}/invitations`, as(partnerRoot), { email: uniqueEmail('boss'), role: 'root_admin' }));
    const org = await call(e, 'GET', `/api/user/organizations/${client}`, as(clientRoot));
    expect(org.body.data.type ?? org.body.data.organization?.type).not.toBe('test');
  });
  test('a partner key reaches the client as admin only: no root_admin-only action', async () => {
    const key = (await call(e, 'POST', '/api/auth/api-key/create', { ...as(partnerRoot), orgid: partner }, { name: 'agency key', scopes: ['read', 'write'] })).body.data.key;
    judge(group, 'allow', await call(e, 'GET', `/api/user/organizations/${client}/members`, { 'x-api-key': key }));
    judge(group, 403, await call(e, 'DELETE', `/api/user/organizations/${client}`, { 'x-api-key': key }));
    judge(group, 403, await call(e, 'PATCH', `/api/user/organizations/${client}`, { 'x-api-key': key }, { type: 'test' }));
  });
  test('partner members reach nothing of the client; removal from the partner ends the access at once', async () => {
    judge(group, 404, await call(e, 'GET', `/api/user/organizations/${client}`, as(partnerMember)));
    judge(group, 'allow', await call(e, 'GET', `/api/user/organizations/${client}`, as(partnerAdmin)));
    expect((await call(e, 'DELETE', `/api/user/organizations/${partner}/members/${partnerAdmin.userId}`, as(partnerRoot))).status).toBe(200);
    judge(group, 404, await call(e, 'GET', `/api/user/organizations/${client}`, as(partnerAdmin)));
  });
  test('a partner admin cannot link an organization it only administers', async () => {
    const other = await createOrg(e.w, clientRoot, { name: 'Not consenting' });
    await join(e.w, clientRoot, other, partnerRoot, 'admin');
    judge(group, 403, await call(e, 'POST', '/v2/partner/organizations', { ...as(partnerRoot), orgid: partner }, { clientOrganizationId: other }));
  });
});

describe('ending a partner link: either side ends it, and the partner keeps nothing in the client', () => {
  const group = 'partner paths';
  const as = (u: { cookie: string }) => cookie(u);
  type U = Escalation['users']['admin'][0];
  /** A partner (root_admin, admin, member) and a linked client with its own root_admin. */
  async function linked(): Promise<{ partner: string; client: string; partnerRoot: U; partnerAdmin: U; partnerMember: U; clientRoot: U }> {
    const partnerRoot = { ...(await newUser(e.w, 'Agency Root')), role: 'root_admin' as const };
    const partner = await createOrg(e.w, partnerRoot, { name: 'Agency', type: 'partner' });
    const partnerAdmin = await member(e.w, partnerRoot, partner, 'admin', 'Agency Admin');
    const partnerMember = await member(e.w, partnerRoot, partner, 'member', 'Agency Member');
    const clientRoot = { ...(await newUser(e.w, 'Client Root')), role: 'root_admin' as const };
    const client = clientRoot.organizationId;
    await join(e.w, partnerRoot, partner, clientRoot, 'admin');
    expect((await call(e, 'POST', '/v2/partner/organizations', { ...as(clientRoot), orgid: partner }, { clientOrganizationId: client })).status).toBe(200);
    return { partner, client, partnerRoot, partnerAdmin, partnerMember, clientRoot };
  }

  test("the client's root_admin leaves the partner: partner admins, their keys and their pending invitations stop at once", async () => {
    const { partner, client, partnerRoot, partnerAdmin, clientRoot } = await linked();
    const key = (await call(e, 'POST', '/api/auth/api-key/create', { ...as(partnerRoot), orgid: partner }, { name: 'agency key', scopes: ['read', 'write'] })).body.data.key;
    const hire = await newUser(e.w, 'Hire');
    const invited = await call(e, 'POST', `/api/user/organizations/${client}/invitations`, as(partnerAdmin), { email: hire.email, role: 'admin' });
    expect(invited.status).toBe(200);
    judge(group, 'allow', await call(e, 'GET', `/api/user/organizations/${client}/members`, { 'x-api-key': key }));
    // Neither a partner admin (admin in the client at most) nor a partner key may end the link from the client's side.
    judge(group, 403, await call(e, 'DELETE', `/api/user/organizations/${client}/partner`, as(partnerRoot)));
    judge(group, 403, await call(e, 'DELETE', `/api/user/organizations/${client}/partner`, { 'x-api-key': key }));
    expect((await call(e, 'DELETE', `/api/user/organizations/${client}/partner`, as(clientRoot))).status).toBe(200);
    judge(group, 404, await call(e, 'GET', `/api/user/organizations/${client}`, as(partnerRoot)));
    judge(group, 404, await call(e, 'GET', `/api/user/organizations/${client}/members`, as(partnerAdmin)));
    judge(group, 403, await call(e, 'GET', `/api/user/organizations/${client}/members`, { 'x-api-key': key }));
    const listed = await call(e, 'GET', '/v2/partner/organizations', { ...as(partnerRoot), orgid: partner });
    expect(listed.body.data.organizations.map((o: { id: string }) => o.id)).not.toContain(client);
    const pending = await call(e, 'GET', `/api/user/organizations/${client}/invitations`, as(clientRoot));
    expect(pending.body.data.invitations.map((i: { id: string }) => i.id)).not.toContain(invited.body.data.invitation.id);
    let mail: Awaited<ReturnType<typeof e.w.smtp.nextMail>>;
    do mail = await e.w.smtp.nextMail(hire.email);
    while (!/invited/i.test(mail.subject));
    judge(group, 404, await call(e, 'POST', `/api/user/invitations/${invited.body.data.invitation.id}/accept`, as(hire), { token: tokenOf(mail) }));
    // Leaving twice, or an organization without a partner: a clear 400.
    const again = await call(e, 'DELETE', `/api/user/organizations/${client}/partner`, as(clientRoot));
    expect([again.status, again.body.code, again.body.reason]).toEqual([400, 'BAD_REQUEST', 'PARTNER_LINK_INVALID']);
  });

  test("the partner removes a client: partner admins may, partner members and client keys may not; the partner's rights end", async () => {
    const { partner, client, partnerAdmin, partnerMember, clientRoot } = await linked();
    const clientKey = (await call(e, 'POST', '/api/auth/api-key/create', { ...as(clientRoot), orgid: client }, { name: 'client key', scopes: ['read', 'write'] })).body.data.key;
    judge(group, 403, await call(e, 'DELETE', `/v2/partner/organizations/${client}`, { ...as(partnerMember), orgid: partner }));
    judge(group, 403, await call(e, 'DELETE', `/v2/partner/organizations/${client}`, { 'x-api-key': clientKey, orgid: partner }));
    judge(group, 404, await call(e, 'DELETE', `/v2/partner/organizations/${partner}`, { ...as(partnerAdmin), orgid: partner }));
    judge(group, 'allow', await call(e, 'DELETE', `/v2/partner/organizations/${client}`, { ...as(partnerAdmin), orgid: partner }));
    judge(group, 404, await call(e, 'GET', `/api/user/organizations/${client}`, as(partnerAdmin)));
    judge(group, 404, await call(e, 'DELETE', `/v2/partner/organizations/${client}`, { ...as(partnerAdmin), orgid: partner }));
    // The client itself carries on, its own root_admin in charge.
    expect((await call(e, 'GET', `/api/user/organizations/${client}`, as(clientRoot))).status).toBe(200);
  });

  test('an invitation sent by a partner admin who has since left the partner admits nobody', async () => {
    const { partner, client, partnerRoot, partnerAdmin } = await linked();
    const hire = await newUser(e.w, 'Late Hire');
    const invited = await call(e, 'POST', `/api/user/organizations/${client}/invitations`, as(partnerAdmin), { email: hire.email, role: 'member' });
    expect(invited.status).toBe(200);
    expect((await call(e, 'DELETE', `/api/user/organizations/${partner}/members/${partnerAdmin.userId}`, as(partnerRoot))).status).toBe(200);
    let mail: Awaited<ReturnType<typeof e.w.smtp.nextMail>>;
    do mail = await e.w.smtp.nextMail(hire.email);
    while (!/invited/i.test(mail.subject));
    judge(group, 403, await call(e, 'POST', `/api/user/invitations/${invited.body.data.invitation.id}/accept`, as(hire), { token: tokenOf(mail) }));
    judge(group, 404, await call(e, 'GET', `/api/user/organizations/${client}`, as(hire)));
  });
});

describe('the four attacks of the campaign', () => {
  const group = 'named attacks';

  test("attack 1: an admin widens the scopes of the root_admin's API key and regenerates it (admins may manage every key of the organization), receives the new secret, and acts as root_admin — promotes themselves. The same regenerated key exchanged with signin_with_api_key yields a root_admin JWT", async () => {
    const root = e.users.root_admin[0];
    const admin = e.users.admin[0];
    const k = await keyOf(e, root, { scopes: ['read'] });
    for (const cred of CREDS) {
      const h = { ...e.creds.admin[cred], orgid: e.org };
      judge(group, 403, await call(e, 'PATCH', keyPath(k.id), h, { scopes: ['read', 'write', 'impersonate'] }));
      const regen = await call(e, 'POST', `/api-key/regenerate/${k.id}`, h, {});
      judge(group, 403, regen);
      expect(JSON.stringify(regen.body)).not.toMatch(/"key":"/);
    }
    // The key is as its owner left it: old secret still works, scopes unchanged.
    const seen = await call(e, 'GET', keyPath(k.id), { ...cookie(root), orgid: e.org });
    expect(seen.body.data.scopes ?? seen.body.data.apiKey?.scopes).toEqual(['read']);
    expect((await call(e, 'GET', '/api/user/me', { 'x-api-key': k.key, orgid: e.org })).status).toBe(200);
    // Nor can the admin's own key be exchanged for the root_admin, nor the admin promote themselves.
    const own = await call(e, 'POST', '/api/auth/api-key/create', { ...cookie(admin), orgid: e.org }, { name: 'a', scopes: ['read', 'write', 'impersonate'] });
    judge(group, 403, await signInWithApiKey(e.url, e.org, { key: own.body.data.key, keyId: own.body.data.id, userId: root.userId }));
    judge(group, 403, await call(e, 'PATCH', `/api/user/organizations/${e.org}/members/${admin.userId}`, cookie(admin), { role: 'root_admin' }));
    // Revoking stays possible as a containment action: it hands out nothing.
    judge(group, 'allow', await call(e, 'DELETE', keyPath(k.id), { ...cookie(admin), orgid: e.org }));
  });

  test("attack 2: an admin links the organization into a partner organization they control (AddClientOrganization with clientOrganizationId), then through the partner's admin role promotes themselves to root_admin of the client and changes its type. After the real root_admin removes them, they keep access through the partner link", async () => {
    const root = { ...(await newUser(e.w, 'Victim Root')), role: 'root_admin' as const };
    const victim = root.organizationId;
    const attacker = await member(e.w, root, victim, 'admin', 'Attacker');
    const theirs = await createOrg(e.w, attacker, { name: 'Attacker Partner', type: 'partner' });
    judge(group, 403, await call(e, 'POST', '/v2/partner/organizations', { ...cookie(attacker), orgid: theirs }, { clientOrganizationId: victim }));
    for (const cred of CREDS) {
      const h = await credential(e.w, attacker, 'root_admin', cred, theirs);
      judge(group, 403, await call(e, 'POST', '/v2/partner/organizations', { ...h, orgid: theirs }, { clientOrganizationId: victim }));
    }
    judge(group, 403, await call(e, 'PATCH', `/api/user/organizations/${victim}/members/${attacker.userId}`, cookie(attacker), { role: 'root_admin' }));
    judge(group, 403, await call(e, 'PATCH', `/api/user/organizations/${victim}`, cookie(attacker), { type: 'partner' }));
    const listed = await call(e, 'GET', '/v2/partner/organizations', { ...cookie(attacker), orgid: theirs });
    expect(listed.body.data.organizations).toEqual([]);
    expect((await call(e, 'DELETE', `/api/user/organizations/${victim}/members/${attacker.userId}`, cookie(root))).status).toBe(200);
    judge(group, 404, await call(e, 'GET', `/api/user/organizations/${victim}`, cookie(attacker)));
    judge(group, 404, await call(e, 'GET', `/api/user/organizations/${victim}/members`, cookie(attacker)));
  });

  test("attack 3: pre-registration account takeover: an attacker signs up with the victim's email and a password of their own; the victim later signs in by magic link (the account becomes verified), and the attacker's password still signs in", async () => {
    const email = uniqueEmail('victim');
    const attackerPassword = 'attacker-chose-this-one';
    expect((await call(e, 'POST', '/api/auth/sign-up/email', {}, { email, password: attackerPassword, name: 'Not the victim' })).status).toBe(200);
    const signIn = await call(e, 'POST', '/api/auth/sign-in/email', {}, { email, password: attackerPassword });
    expect(signIn.status).toBe(200);
    const attackerCookie = signIn.headers
      .getSetCookie()
      .find((c) => c.startsWith('latchkey_session='))!
      .split(';')[0];
    const pat = (await call(e, 'POST', '/api/auth/api-key/create', { cookie: attackerCookie }, { name: 'left behind' })).body.data.key;
    expect((await call(e, 'GET', '/api/user/me', { 'x-api-key': pat })).status).toBe(200);

    expect((await call(e, 'GET', `/magic-link?email=${encodeURIComponent(email)}&type=link`, {})).status).toBe(200);
    let mail;
    do mail = await e.w.smtp.nextMail(email);
    while (!/magic-link\/redirect/.test(mail.text + mail.html));
    const redeemed = await call(e, 'POST', '/magic-link/redirect', {}, { token: tokenOf(mail) });
    expect(redeemed.status).toBe(200);

    judge(group, 401, await call(e, 'POST', '/api/auth/sign-in/email', {}, { email, password: attackerPassword }));
    judge(group, 401, await call(e, 'GET', '/api/user/me', { cookie: attackerCookie }));
    judge(group, 401, await call(e, 'GET', '/api/user/me', { 'x-api-key': pat }));
    judge(group, 401, await call(e, 'POST', '/api/auth/refresh', {}, { refreshToken: signIn.body.data.refreshToken }));
    // The victim's own session is the one that works.
    const victimCookie = redeemed.headers
      .getSetCookie()
      .find((c) => c.startsWith('latchkey_session='))!
      .split(';')[0];
    expect((await call(e, 'GET', '/api/user/me', { cookie: victimCookie })).status).toBe(200);
    // An account that was verified keeps its password across a magic-link sign-in.
    const owner = e.users.member[1];
    expect(PASSWORD).toBeTruthy();
    expect((await call(e, 'POST', '/api/auth/sign-in/email', {}, { email: owner.email, password: PASSWORD })).status).toBe(200);
  });

  test("attack 4: a key with a budget (credits, rate limit) raises its own `remaining` and removes its own rate limit, authenticated by itself; a member can likewise lift a budget or a disable that an admin imposed on the member's key", async () => {
    const m = e.users.member[0];
    const a = e.users.admin[0];
    const k = await keyOf(e, m, { scopes: ['read', 'write'], remaining: 50, rateLimit: { requestsPerMinute: 100 } });
    const itself = { 'x-api-key': k.key, orgid: e.org };
    judge(group, 403, await call(e, 'PATCH', keyPath(k.id), itself, { remaining: 1_000_000 }));
    judge(group, 403, await call(e, 'PATCH', keyPath(k.id), itself, { rateLimit: { requestsPerMinute: 0 } }));
    judge(group, 403, await call(e, 'PATCH', keyPath(k.id), itself, { refill: { interval: 'minute', amount: 1000 } }));
    // The member's own session may still change what the member set.
    judge(group, 'allow', await call(e, 'PATCH', keyPath(k.id), { ...cookie(m), orgid: e.org }, { remaining: 40 }));
    // An admin imposes a budget and a rate limit, then a disable: the member (any credential) lifts none.
    judge(group, 'allow', await call(e, 'PATCH', keyPath(k.id), { ...cookie(a), orgid: e.org }, { remaining: 3, rateLimit: { requestsPerMinute: 5 } }));
    for (const cred of CREDS) {
      const h = { ...e.creds.member[cred], orgid: e.org };
      judge(group, 403, await call(e, 'PATCH', keyPath(k.id), h, { remaining: 1_000_000 }));
      judge(group, 403, await call(e, 'PATCH', keyPath(k.id), h, { rateLimit: { requestsPerMinute: 0 } }));
    }
    judge(group, 'allow', await call(e, 'PATCH', keyPath(k.id), { ...cookie(a), orgid: e.org }, { enabled: false }));
    judge(group, 403, await call(e, 'PATCH', keyPath(k.id), { ...cookie(m), orgid: e.org }, { enabled: true }));
    const seen = await call(e, 'GET', keyPath(k.id), { ...cookie(m), orgid: e.org });
    const key = seen.body.data.apiKey ?? seen.body.data;
    expect(key).toMatchObject({ enabled: false, rateLimit: { requestsPerMinute: 5 } });
    expect(Number(key.remaining)).toBe(3);
    // The admin lifts it; a root_admin's limits on an admin's key bind the admin and its peers alike.
    judge(group, 'allow', await call(e, 'PATCH', keyPath(k.id), { ...cookie(a), orgid: e.org }, { enabled: true }));
    const ak = await keyOf(e, a);
    judge(group, 'allow', await call(e, 'PATCH', keyPath(ak.id), { ...cookie(e.users.root_admin[0]), orgid: e.org }, { remaining: 1 }));
    judge(group, 403, await call(e, 'PATCH', keyPath(ak.id), { ...cookie(a), orgid: e.org }, { remaining: 100 }));
    judge(group, 403, await call(e, 'PATCH', keyPath(ak.id), { ...cookie(e.users.admin[1]), orgid: e.org }, { remaining: 100 }));
    judge(group, 'allow', await call(e, 'PATCH', keyPath(ak.id), { ...cookie(e.users.root_admin[1]), orgid: e.org }, { remaining: 100 }));
  });
});

describe('personal access tokens', () => {
  const group = 'personal tokens';
  test("a member's token holds admin scopes only where the member is admin: capped at use in each organization", async () => {
    const m = e.users.member[0];
    // The member is root_admin of their own organization, so the scope may be granted...
    const pat = await call(e, 'POST', '/api/auth/api-key/create', cookie(m), { name: 'pat', scopes: ['read', 'introspect'] });
    expect(pat.status).toBe(200);
    // ...and works there, but not in the organization where they are a member.
    judge(group, 'allow', await call(e, 'POST', '/api/auth/introspect', { 'x-api-key': pat.body.data.key, orgid: m.organizationId }, {}));
    judge(group, 403, await call(e, 'POST', '/api/auth/introspect', { 'x-api-key': pat.body.data.key, orgid: e.org }, {}));
  });
  test('a user with no organization above member cannot mint admin scopes into a token', async () => {
    const m = e.users.member[1];
    // Leave their own organization's root role aside: a fresh member-only user (their personal org deleted).
    expect((await call(e, 'DELETE', `/api/user/organizations/${m.organizationId}`, cookie(m))).status).toBe(200);
    judge(group, 403, await call(e, 'POST', '/api/auth/api-key/create', cookie(m), { name: 'pat', scopes: ['impersonate'] }));
  });
});

// ——— The management surfaces of round 3: OAuth clients, webhooks, SSO, the organization policy, key
// usage and IP allowlists. Each RPC gets every role and the outsider (a user of another organization)
// × every credential, plus `readKey`: an organization key holding only `read` (no `*:write`).

type Cred = CredKind | 'readKey';
const WITH_READ_KEY: Cred[] = [...CREDS, 'readKey'];
interface Try {
  who: Who;
  cred: Cred;
  expect: Expect;
}
const RANKS: Record<Role, number> = { member: 0, admin: 1, root_admin: 2 };

/** Every actor × credential with the oracle's answer. */
function grid(oracle: (who: Who, cred: Cred) => Expect | undefined): Try[] {
  return WHO.flatMap((who) =>
    WITH_READ_KEY.flatMap((cred) => {
      const expected = oracle(who, cred);
      return expected === undefined ? [] : [{ who, cred, expect: expected }];
    }),
  );
}

const actorOf = (who: Who): Actor => (who === 'outsider' ? e.outsider : e.users[who][0]);
const homeOf = (who: Who): string => (who === 'outsider' ? e.outsider.organizationId : e.org);
const readKeys = new Map<Who, Record<string, string>>();
/** The headers of `who` holding `cred` (keys and exchanged tokens are of the actor's organization). */
async function headersOf(who: Who, cred: Cred): Promise<Record<string, string>> {
  if (cred !== 'readKey') return e.creds[who][cred];
  if (!readKeys.has(who)) {
    const r = await call(e, 'POST', '/api/auth/api-key/create', { ...cookie(actorOf(who)), orgid: homeOf(who) }, { name: 'read only', scopes: ['read'] });
    expect(r.status).toBe(200);
    readKeys.set(who, { 'x-api-key': r.body.data.key });
  }
  return readKeys.get(who)!;
}

/**
 * The rule of an RPC of the organization with a minimum role (admin unless said) and a scope
 * (`orgs:read` or `orgs:write`): a lower role 403; a key holding only `read` lacks `orgs:write` (403);
 * an outsider 404, or 403 with a key or exchanged token of their own organization (which reaches only
 * it), or an empty list where the RPC lists (foreignEmpty). `signedIn`: the user's own sign-in only,
 * so keys and exchanged tokens get 403 whoever holds them.
 */
const orgRule =
  (scope: 'read' | 'write', o: { signedIn?: boolean; foreignEmpty?: boolean; minRole?: Role } = {}) =>
  (who: Who, cred: Cred): Expect => {
    const viaKey = cred !== 'session' && cred !== 'jwt';
    if (o.signedIn && viaKey) return 403;
    if (cred === 'readKey' && scope === 'write') return 403;
    if (who === 'outsider') return viaKey && cred !== 'pat' ? 403 : o.foreignEmpty ? 'empty' : 404;
    return RANKS[who] < RANKS[o.minRole ?? 'admin'] ? 403 : 'allow';
  };

describe('OAuth clients of the organization', () => {
  /** `client_credentials` at the provider's token endpoint: the access token, or the OAuth error. */
  async function machineToken(client: { id: string; secret: string }, scope: string): Promise<string> {
    const res = await fetch(`${e.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
    });
    const body = (await res.json()) as { access_token: string };
    if (!res.ok) throw new Error(`token: ${res.status} ${JSON.stringify(body)}`);
    return body.access_token;
  }

  const setRoleOf = async (u: Actor, org: string, role: Role, by = e.users.root_admin[0]) =>
    expect((await call(e, 'PATCH', `/api/user/organizations/${org}/members/${u.userId}`, cookie(by), { role })).status).toBe(200);

  const base = '/api/oauth/clients';
  const machine = (scopes: string[]) => ({ name: 'Billing sync', type: 'O_AUTH_CLIENT_TYPE_MACHINE', scopes });
  async function clientOf(u: Actor, scopes = ['orgs:read']): Promise<{ id: string; secret: string }> {
    const r = await call(e, 'POST', base, { ...cookie(u), orgid: e.org }, machine(scopes));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return { id: r.body.data.client.clientId, secret: r.body.data.clientSecret };
  }
  /** A client of each user who can hold one, and one whose creator has since been demoted to member. */
  const clients = new Map<string, string>();
  let demoted: string;
  beforeAll(async () => {
    for (const u of [...e.users.root_admin, ...e.users.admin]) clients.set(u.userId, (await clientOf(u)).id);
    const was = await member(e.w, e.users.root_admin[0], e.org, 'admin', 'Former Admin');
    demoted = (await clientOf(was)).id;
    await setRoleOf(was, e.org, 'member');
  });
  /** The client of the user at `level` (members hold none: the demoted admin's). */
  const clientAt = (role: Role, level: Level) => {
    const owner = userAt(e, role, level)!;
    return owner.role === 'member' ? demoted : clients.get(owner.userId)!;
  };
  const theRootsClient = () => clients.get(e.users.root_admin[1].userId)!;

  test.each(grid(orgRule('write', { signedIn: true })))('CreateOAuthClient: $who with $cred → $expect', async (c) => {
    const r = await call(e, 'POST', base, { ...(await headersOf(c.who, c.cred)), orgid: e.org }, machine(['orgs:read']));
    judge('CreateOAuthClient', c.expect, r);
    if (c.expect !== 'allow') expect(JSON.stringify(r.body)).not.toMatch(/lkcs_/);
  });

  test.each(grid(orgRule('read', { foreignEmpty: true })))('ListOAuthClients: $who with $cred → $expect', async (c) => {
    judge('ListOAuthClients', c.expect, await call(e, 'GET', base, { ...(await headersOf(c.who, c.cred)), orgid: e.org }));
  });

  test.each(grid(orgRule('read')))("GetOAuthClient (a root_admin's): $who with $cred → $expect", async (c) => {
    judge('GetOAuthClient', c.expect, await call(e, 'GET', `${base}/${theRootsClient()}`, { ...(await headersOf(c.who, c.cred)), orgid: e.org }));
  });

  // As CreateOAuthClient, and like an API key: never a client whose creator now ranks above the caller
  // (a machine client's tokens act as its creator: widening a root_admin's client widens a root_admin credential).
  const updateRule = (role: Role, cred: CredKind, level: Level): Expect => {
    if (scoped(cred) || role === 'member') return 403;
    return level === 'above' ? 403 : 'allow';
  };
  test.each(matrix(updateRule))('UpdateOAuthClient (widen scopes): $role with $cred on the client of $level → $expect', async (c) => {
    const r = await call(e, 'PATCH', `${base}/${clientAt(c.role, c.level)}`, { ...e.creds[c.role][c.cred], orgid: e.org }, { name: 'widened', scopes: ['orgs:read', 'orgs:write', 'members:write'] });
    judge('UpdateOAuthClient', c.expect, r);
  });
  test.each(grid((who, cred) => (who === 'outsider' ? orgRule('write', { signedIn: true })(who, cred) : undefined)))('UpdateOAuthClient: $who with $cred → $expect', async (c) => {
    judge('UpdateOAuthClient', c.expect, await call(e, 'PATCH', `${base}/${theRootsClient()}`, { ...(await headersOf(c.who, c.cred)), orgid: e.org }, { name: 'taken' }));
  });

  // Deleting is containment (it hands out nothing): an admin may delete any client of the organization.
  test.each(grid(orgRule('write', { signedIn: true })))("DeleteOAuthClient (a root_admin's): $who with $cred → $expect", async (c) => {
    const target = c.expect === 'allow' ? (await clientOf(e.users.root_admin[1])).id : theRootsClient();
    judge('DeleteOAuthClient', c.expect, await call(e, 'DELETE', `${base}/${target}`, { ...(await headersOf(c.who, c.cred)), orgid: e.org }));
  });

  test('a client is never granted scopes beyond its creator: impersonate, introspect and the shorthands are no OAuth scopes; members create none', async () => {
    const group = 'OAuth client scopes';
    for (const who of ['admin', 'root_admin'] as const)
      for (const scopes of [['impersonate'], ['introspect'], ['orgs:read', 'impersonate'], ['read'], ['write']]) {
        judge(group, 400, await call(e, 'POST', base, { ...cookie(e.users[who][0]), orgid: e.org }, machine(scopes)));
        judge(group, 400, await call(e, 'PATCH', `${base}/${clients.get(e.users[who][0].userId)}`, { ...cookie(e.users[who][0]), orgid: e.org }, { scopes }));
      }
    judge(group, 403, await call(e, 'POST', base, { ...cookie(e.users.member[0]), orgid: e.org }, machine(['members:read'])));
    // A client may not ask at the token endpoint for what it was not given.
    const c = await clientOf(e.users.admin[0], ['members:read']);
    await expect(machineToken(c, 'members:write')).rejects.toThrow(/invalid_scope/);
  });

  test("a machine client's tokens act with its creator's current role: demoted, the admin scopes stop at once; removed, nothing of the organization", async () => {
    const group = 'OAuth client tokens';
    const creator = await member(e.w, e.users.root_admin[0], e.org, 'admin', 'Client Creator');
    const c = await clientOf(creator, ['orgs:read', 'orgs:write', 'members:read', 'members:write']);
    const bearer = { authorization: `Bearer ${await machineToken(c, 'orgs:read orgs:write members:read members:write')}` };
    const invite = (h: Record<string, string>) => call(e, 'POST', `/api/user/organizations/${e.org}/invitations`, h, { email: uniqueEmail('via-client'), role: 'member' });
    const hooks = (h: Record<string, string>) => call(e, 'GET', `/api/organizations/${e.org}/webhooks`, h);
    const members = (h: Record<string, string>) => call(e, 'GET', `/api/user/organizations/${e.org}/members`, h);
    judge(group, 'allow', await invite(bearer));
    judge(group, 'allow', await hooks(bearer));
    // A client token is not the creator's own sign-in: it manages no OAuth client.
    judge(group, 403, await call(e, 'POST', base, { ...bearer, orgid: e.org }, machine(['orgs:read'])));
    await setRoleOf(creator, e.org, 'member');
    judge(group, 403, await invite(bearer));
    judge(group, 403, await hooks(bearer));
    judge(group, 'allow', await members(bearer)); // members:read is a member's too
    // A token issued after the demotion is capped the same way.
    const fresh = { authorization: `Bearer ${await machineToken(c, 'members:read members:write orgs:write')}` };
    judge(group, 403, await invite(fresh));
    judge(group, 403, await call(e, 'PUT', `/api/user/organizations/${e.org}/policy`, fresh, POLICY_OFF));
    expect((await call(e, 'DELETE', `/api/user/organizations/${e.org}/members/${creator.userId}`, cookie(e.users.root_admin[0]))).status).toBe(200);
    judge(group, 404, await members(bearer));
    judge(group, 404, await members(fresh));
  });
});

const POLICY_OFF = { requireSecondFactor: 'none', allowedInvitationDomains: [] as string[], maxSessionSeconds: 0, maxApiKeyLifetimeSeconds: 0, apiKeysMustExpire: false };

describe('webhooks of the organization', () => {
  const PUBLIC = 'https://8.8.8.8/hooks';
  const hooks = (org = e.org) => `/api/organizations/${org}/webhooks`;
  /** An endpoint with one (queued) delivery, made by `u`'s session in `org`. */
  async function endpointOf(u: Actor, org = e.org): Promise<{ endpoint: string; delivery: string }> {
    const r = await call(e, 'POST', hooks(org), cookie(u), { url: PUBLIC, eventTypes: ['member.*'] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const endpoint = r.body.data.endpoint.id;
    const t = await call(e, 'POST', `${hooks(org)}/${endpoint}/test`, cookie(u), {});
    expect(t.status).toBe(200);
    return { endpoint, delivery: t.body.data.delivery.id };
  }
  let ours: { endpoint: string; delivery: string }; // the root_admin's, in the organization
  let theirs: { endpoint: string; delivery: string }; // the outsider's, in their own organization
  beforeAll(async () => {
    ours = await endpointOf(e.users.root_admin[0]);
    theirs = await endpointOf(e.outsider, e.outsider.organizationId);
  });
  const at = (path = '') => `${hooks()}/${ours.endpoint}${path}`;

  test.each(grid(orgRule('write')))('CreateWebhookEndpoint: $who with $cred → $expect', async (c) => {
    const r = await call(e, 'POST', hooks(), await headersOf(c.who, c.cred), { url: PUBLIC });
    judge('CreateWebhookEndpoint', c.expect, r);
    if (r.status === 200) expect((await call(e, 'DELETE', `${hooks()}/${r.body.data.endpoint.id}`, cookie(e.users.root_admin[0]))).status).toBe(200);
    else expect(JSON.stringify(r.body)).not.toMatch(/whsec_/);
  });
  test.each(grid(orgRule('read')))('ListWebhookEndpoints: $who with $cred → $expect', async (c) => {
    judge('ListWebhookEndpoints', c.expect, await call(e, 'GET', hooks(), await headersOf(c.who, c.cred)));
  });
  test.each(grid(orgRule('write')))('UpdateWebhookEndpoint (its URL): $who with $cred → $expect', async (c) => {
    judge('UpdateWebhookEndpoint', c.expect, await call(e, 'PATCH', at(), await headersOf(c.who, c.cred), { url: PUBLIC, description: `changed by ${c.who}` }));
  });
  test.each(grid(orgRule('write')))('RotateWebhookSecret: $who with $cred → $expect', async (c) => {
    const r = await call(e, 'POST', at('/rotate-secret'), await headersOf(c.who, c.cred), { overlapSeconds: 0 });
    judge('RotateWebhookSecret', c.expect, r);
    if (c.expect !== 'allow') expect(JSON.stringify(r.body)).not.toMatch(/whsec_/);
  });
  test.each(grid(orgRule('read')))('ListWebhookDeliveries: $who with $cred → $expect', async (c) => {
    judge('ListWebhookDeliveries', c.expect, await call(e, 'GET', at('/deliveries'), await headersOf(c.who, c.cred)));
  });
  test.each(grid(orgRule('write')))('ReplayWebhookDelivery: $who with $cred → $expect', async (c) => {
    judge('ReplayWebhookDelivery', c.expect, await call(e, 'POST', at(`/deliveries/${ours.delivery}/replay`), await headersOf(c.who, c.cred), {}));
  });
  test.each(grid(orgRule('write')))('SendTestWebhookEvent: $who with $cred → $expect', async (c) => {
    judge('SendTestWebhookEvent', c.expect, await call(e, 'POST', at('/test'), await headersOf(c.who, c.cred), {}));
  });
  test.each(grid(orgRule('write')))('DeleteWebhookEndpoint: $who with $cred → $expect', async (c) => {
    const target = c.expect === 'allow' ? (await endpointOf(e.users.root_admin[0])).endpoint : ours.endpoint;
    judge('DeleteWebhookEndpoint', c.expect, await call(e, 'DELETE', `${hooks()}/${target}`, await headersOf(c.who, c.cred)));
  });

  test("another organization's endpoints and deliveries: never read, replayed or changed, by its path or through one's own", async () => {
    const group = 'webhooks across organizations';
    const foreign = `${hooks(e.outsider.organizationId)}/${theirs.endpoint}`;
    const viaOurs = `${hooks()}/${theirs.endpoint}`;
    for (const who of ROLES)
      for (const cred of CREDS) {
        const h = e.creds[who][cred];
        // Their organization's path: not a member (keys of ours reach only ours: 403).
        const outside = scoped(cred) && cred !== 'pat' ? 403 : 404;
        judge(group, outside, await call(e, 'GET', `${foreign}/deliveries`, h));
        judge(group, outside, await call(e, 'POST', `${foreign}/deliveries/${theirs.delivery}/replay`, h, {}));
        // Our path with their endpoint or delivery: no such endpoint here (members: the role comes first).
        const inside = who === 'member' ? 403 : 404;
        judge(group, inside, await call(e, 'GET', `${viaOurs}/deliveries`, h));
        judge(group, inside, await call(e, 'POST', `${viaOurs}/deliveries/${theirs.delivery}/replay`, h, {}));
        judge(group, inside, await call(e, 'POST', at(`/deliveries/${theirs.delivery}/replay`), h, {}));
        judge(group, inside, await call(e, 'POST', `${viaOurs}/rotate-secret`, h, {}));
      }
    // The header naming another organization than the path: refused, whoever asks.
    const mismatch = await call(e, 'GET', `${foreign}/deliveries`, { ...cookie(e.outsider), orgid: e.org });
    expect(mismatch.status).toBe(400);
    // Their own admin still sees it.
    judge(group, 'allow', await call(e, 'GET', `${foreign}/deliveries`, cookie(e.outsider)));
  });
});

describe('SSO connections of the organization', () => {
  const base = (org = e.org) => `/api/organizations/${org}/sso/connections`;
  const oidc = { issuer: 'https://idp.example.com', clientId: 'latchkey', clientSecret: 'idp-client-secret' };
  let conn: string; // the root_admin's
  const root = () => e.users.root_admin[0];
  async function connectionOf(u: Actor, body: Record<string, unknown> = { oidc }, org = e.org): Promise<string> {
    const r = await call(e, 'POST', base(org), cookie(u), { kind: 'SSO_KIND_OIDC', name: 'Acme IdP', ...body });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.data.id;
  }
  /** A new domain on `connection`, its TXT record published: whoever may verify it, can. */
  async function provable(connection: string, org = e.org, by: Actor = root()): Promise<string> {
    const domain = uniqueDomain('acme');
    const r = await call(e, 'POST', `${base(org)}/${connection}/domains`, cookie(by), { domain });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    dns.records.set(r.body.data.txtRecordName, [r.body.data.txtRecordValue]);
    return domain;
  }
  beforeAll(async () => {
    conn = await connectionOf(root());
  });
  const at = (path = '') => `${base()}/${conn}${path}`;

  test.each(grid(orgRule('write')))('CreateSsoConnection: $who with $cred → $expect', async (c) => {
    const r = await call(e, 'POST', base(), await headersOf(c.who, c.cred), { kind: 'SSO_KIND_OIDC', name: `by ${c.who}`, oidc });
    judge('CreateSsoConnection', c.expect, r);
    if (r.status === 200) expect((await call(e, 'DELETE', `${base()}/${r.body.data.id}`, cookie(root()))).status).toBe(200);
  });
  test.each(grid(orgRule('read')))('ListSsoConnections: $who with $cred → $expect', async (c) => {
    judge('ListSsoConnections', c.expect, await call(e, 'GET', base(), await headersOf(c.who, c.cred)));
  });
  test.each(grid(orgRule('read')))('GetSsoConnection: $who with $cred → $expect', async (c) => {
    judge('GetSsoConnection', c.expect, await call(e, 'GET', at(), await headersOf(c.who, c.cred)));
  });
  test.each(grid(orgRule('write')))('UpdateSsoConnection (name, default role): $who with $cred → $expect', async (c) => {
    judge('UpdateSsoConnection', c.expect, await call(e, 'PATCH', at(), await headersOf(c.who, c.cred), { name: `renamed by ${c.who}`, defaultRole: 'member' }));
  });
  test.each(grid(orgRule('write')))('AddSsoDomain: $who with $cred → $expect', async (c) => {
    judge('AddSsoDomain', c.expect, await call(e, 'POST', at('/domains'), await headersOf(c.who, c.cred), { domain: uniqueDomain('added') }));
  });
  test.each(grid(orgRule('write')))('VerifySsoDomain (its TXT record published): $who with $cred → $expect', async (c) => {
    const domain = await provable(conn);
    judge('VerifySsoDomain', c.expect, await call(e, 'POST', at(`/domains/${domain}/verify`), await headersOf(c.who, c.cred), {}));
  });
  test.each(grid(orgRule('write')))('UpdateSsoDomain (SSO required): $who with $cred → $expect', async (c) => {
    const domain = await provable(conn);
    judge('UpdateSsoDomain', c.expect, await call(e, 'PATCH', at(`/domains/${domain}`), await headersOf(c.who, c.cred), { ssoRequired: true }));
  });
  test.each(grid(orgRule('write')))('DeleteSsoConnection: $who with $cred → $expect', async (c) => {
    const target = c.expect === 'allow' ? await connectionOf(root()) : conn;
    judge('DeleteSsoConnection', c.expect, await call(e, 'DELETE', `${base()}/${target}`, await headersOf(c.who, c.cred)));
  });

  test("an admin points the root_admin's connection, whose domain is verified, at an identity provider of their own, to sign in as the root_admin (whose email is at that domain)", async () => {
    const group = 'SSO identity provider';
    const domain = uniqueDomain('acme');
    const boss: Actor = { ...(await signUpAndIn(e.url, 'Acme Root', `root@${domain}`)), role: 'root_admin' };
    const org = boss.organizationId;
    const admin = await member(e.w, boss, org, 'admin', 'Acme Admin');
    const legit = await startStubIssuer();
    const evil = await startStubIssuer();
    try {
      const id = await connectionOf(boss, { oidc: { issuer: legit.issuer, clientId: legit.client_id, clientSecret: legit.client_secret } }, org);
      const added = await call(e, 'POST', `${base(org)}/${id}/domains`, cookie(boss), { domain });
      dns.records.set(added.body.data.txtRecordName, [added.body.data.txtRecordValue]);
      expect((await call(e, 'POST', `${base(org)}/${id}/domains/${domain}/verify`, cookie(boss), {})).status).toBe(200);
      // The attacker's IdP would assert the root_admin's email; every setting that decides who signs in is refused.
      evil.state.email = boss.email;
      const swaps = [
        { oidc: { issuer: evil.issuer, clientId: evil.client_id, clientSecret: evil.client_secret } },
        { oidc: { issuer: evil.issuer } },
        { oidc: { clientId: 'attackers-own-client' } },
        { oidc: { emailClaim: 'nickname' } },
      ];
      for (const cred of CREDS) {
        const h = await credential(e.w, admin, 'admin', cred, org);
        for (const swap of swaps) judge(group, 403, await call(e, 'PATCH', `${base(org)}/${id}`, h, swap));
      }
      // The connection still sends people to the organization's own IdP.
      const start = await fetch(`${e.url}/api/sso/${id}/start`, { redirect: 'manual' });
      expect(start.headers.get('location')).toMatch(new RegExp(`^${legit.issuer}/`));
      // What the admin may still do: rename it, rotate its client secret, disable it, and add a domain (which must be proven).
      judge(group, 'allow', await call(e, 'PATCH', `${base(org)}/${id}`, cookie(admin), { name: 'Acme Okta', oidc: { clientSecret: 'rotated-secret' } }));
      judge(group, 'allow', await call(e, 'PATCH', `${base(org)}/${id}`, cookie(admin), { enabled: false }));
      judge(group, 'allow', await call(e, 'PATCH', `${base(org)}/${id}`, cookie(admin), { enabled: true }));
      // An admin's own connection, its domain not yet proven, is theirs to configure; the root_admin may change any.
      const own = await connectionOf(admin, { oidc }, org);
      judge(group, 'allow', await call(e, 'PATCH', `${base(org)}/${own}`, cookie(admin), { oidc: { issuer: evil.issuer } }));
      judge(group, 'allow', await call(e, 'PATCH', `${base(org)}/${id}`, cookie(boss), { oidc: { issuer: legit.issuer, clientId: legit.client_id } }));
    } finally {
      await legit.close();
      await evil.close();
    }
  });
});

describe('organization policy and second factors', () => {
  const policy = (org = e.org) => `/api/user/organizations/${org}/policy`;

  test.each(grid(orgRule('read', { minRole: 'member' })))('GetOrgPolicy: $who with $cred → $expect', async (c) => {
    judge('GetOrgPolicy', c.expect, await call(e, 'GET', policy(), await headersOf(c.who, c.cred)));
  });
  test.each(grid(orgRule('write')))('UpdateOrgPolicy (the policy in force): $who with $cred → $expect', async (c) => {
    judge('UpdateOrgPolicy', c.expect, await call(e, 'PUT', policy(), await headersOf(c.who, c.cred), POLICY_OFF));
  });

  test('a policy requiring second factors: set by an admin; a member never lifts it, and an admin without a factor cannot act to lift it, not even with a key made before', async () => {
    const group = 'second-factor policy';
    const boss: Actor = { ...(await newUser(e.w, 'Strict Root')), role: 'root_admin' };
    const org = boss.organizationId;
    const admin = await member(e.w, boss, org, 'admin', 'Strict Admin');
    const m = await member(e.w, boss, org, 'member', 'Strict Member');
    // Every credential first (a password sign-in after enrolment answers with a challenge).
    const memberCreds = await Promise.all(CREDS.map((cred) => credential(e.w, m, 'member', cred, org)));
    const adminCreds = await Promise.all(CREDS.map((cred) => credential(e.w, admin, 'admin', cred, org)));
    await enrolTotp(e.w.server, boss.cookie);
    await enrolTotp(e.w.server, m.cookie);
    judge(group, 403, await call(e, 'PUT', policy(org), cookie(m), { ...POLICY_OFF, requireSecondFactor: 'all' }));
    judge(group, 'allow', await call(e, 'PUT', policy(org), cookie(boss), { ...POLICY_OFF, requireSecondFactor: 'all' }));
    for (const h of memberCreds) judge(group, 403, await call(e, 'PUT', policy(org), h, POLICY_OFF));
    for (const h of adminCreds) {
      const r = await call(e, 'PUT', policy(org), h, POLICY_OFF);
      judge(group, 403, r);
      expect(r.body.reason).toBe('SECOND_FACTOR_ENROLMENT_REQUIRED');
    }
    const now = await call(e, 'GET', policy(org), cookie(boss));
    expect(now.body.data.requireSecondFactor).toBe('all');
  });
});

describe('API key usage and IP allowlists', () => {
  // Reading a key (its usage, its allowlist): its creator, or an admin at any rank; members see only theirs (404).
  test.each(matrix(keyRule(true)))('GetApiKeyUsage: $role with $cred on the key of $level → $expect', async (c) => {
    const k = await keyOf(e, userAt(e, c.role, c.level)!);
    judge('GetApiKeyUsage', c.expect, await call(e, 'GET', `/api-key/${k.id}/usage`, { ...e.creds[c.role][c.cred], orgid: e.org }));
  });
  test.each(matrix(keyRule(true)))('GetApiKey (its allowlist): $role with $cred on the key of $level → $expect', async (c) => {
    const k = await keyOf(e, userAt(e, c.role, c.level)!, { ipAllowlist: { cidrs: ['127.0.0.0/8', '::1/128'] } });
    const r = await call(e, 'GET', keyPath(k.id), { ...e.creds[c.role][c.cred], orgid: e.org });
    judge('GetApiKey', c.expect, r);
    if (r.status !== 200) expect(JSON.stringify(r.body)).not.toContain('127.0.0.0');
  });
  test.each(matrix(keyRule(false)))('UpdateApiKey (lift the IP allowlist): $role with $cred on the key of $level → $expect', async (c) => {
    const k = await keyOf(e, userAt(e, c.role, c.level)!, { ipAllowlist: { cidrs: ['127.0.0.0/8', '::1/128'] } });
    judge('UpdateApiKey allowlist', c.expect, await call(e, 'PATCH', keyPath(k.id), { ...e.creds[c.role][c.cred], orgid: e.org }, { ipAllowlist: { cidrs: [] } }));
  });
  // Any credential of the outsider: the key is not theirs to see (404), whatever the header says.
  test.each(grid((who) => (who === 'outsider' ? 404 : undefined)))('a key of another organization (usage, key, allowlist): $who with $cred → $expect', async (c) => {
    const k = await keyOf(e, e.users.member[0]);
    const h = { ...(await headersOf(c.who, c.cred)) };
    judge('keys of another organization', c.expect, await call(e, 'GET', `/api-key/${k.id}/usage`, h));
    judge('keys of another organization', c.expect, await call(e, 'GET', keyPath(k.id), { ...h, orgid: e.outsider.organizationId }));
    // (a key holding only `read` is refused the write before the key is looked up)
    const write = c.cred === 'readKey' ? 403 : c.expect;
    judge('keys of another organization', write, await call(e, 'PATCH', keyPath(k.id), { ...h, orgid: e.outsider.organizationId }, { ipAllowlist: { cidrs: [] } }));
  });

  test("organization-wide usage: a member counts only the keys they created, never a peer's; another organization's counts nothing", async () => {
    const group = 'organization usage';
    const boss = { ...(await newUser(e.w, 'Usage Root')), role: 'root_admin' as const };
    const org = boss.organizationId;
    const [me, peer] = [await member(e.w, boss, org, 'member', 'Usage Me'), await member(e.w, boss, org, 'member', 'Usage Peer')];
    const key = async (u: Actor) => (await call(e, 'POST', '/api-key/create', { ...cookie(u), orgid: org }, { name: 'counted', scopes: ['read'] })).body.data.key as string;
    const [mine, theirs] = [await key(me), await key(peer)];
    for (let i = 0; i < 2; i++) expect((await call(e, 'GET', '/api/user/me', { 'x-api-key': mine })).status).toBe(200);
    for (let i = 0; i < 50; i++) expect((await call(e, 'GET', '/api/user/me', { 'x-api-key': theirs })).status).toBe(200);
    await e.w.server.deps.apiKeys.usage.flush();
    const now = e.w.server.clock.now().getTime();
    const range = `startTime=${new Date(now - 3_600_000).toISOString()}&endTime=${new Date(now + 3_600_000).toISOString()}`;
    const total = (r: RestResponse) => Number(r.body.data?.totals?.total ?? -1);
    for (const cred of ['session', 'jwt'] as const) {
      const h = await credential(e.w, me, 'member', cred, org);
      const r = await call(e, 'GET', `/api/user/organizations/${org}/api-key-usage?${range}`, h);
      judge(group, 'allow', r);
      expect(total(r)).toBe(2);
      // The peer's key by id: not theirs to see.
      const all = await call(e, 'GET', `/api/user/organizations/${org}/api-key-usage?${range}`, cookie(boss));
      expect(total(all)).toBeGreaterThanOrEqual(52);
      const foreign = await call(e, 'GET', `/api/user/organizations/${org}/api-key-usage?${range}`, cookie(e.outsider));
      judge(group, 'allow', foreign);
      expect(total(foreign)).toBe(0);
    }
  });

  test("attack: a key that expires, or has a usage budget or a rate limit, hands on a key without them: creates one (no expiry, no budget), regenerates a permanent one to receive its secret, or extends its child's expiry", async () => {
    const group = 'named attacks';
    const m = e.users.member[0];
    const short = await keyOf(e, m, { scopes: ['read', 'write'], expiresIn: 3600 });
    const exchanged = await signInWithApiKey(e.url, e.org, { key: short.key, keyId: short.id, userId: m.userId });
    expect(exchanged.status).toBe(200);
    const until = short.apiKey.expiresAt;
    const ways: Record<string, string>[] = [
      { 'x-api-key': short.key, orgid: e.org },
      { authorization: `Bearer ${exchanged.body.id_token}`, orgid: e.org },
    ];
    for (const h of ways) {
      const child = await call(e, 'POST', '/api-key/create', h, { name: 'child', scopes: ['read'] });
      judge(group, 'allow', child);
      expect(child.body.data.apiKey.expiresAt).toBe(until);
      judge(group, 403, await call(e, 'POST', '/api-key/create', h, { name: 'child', scopes: ['read'], expiresIn: 7200 }));
      judge(group, 'allow', await call(e, 'POST', '/api-key/create', h, { name: 'child', scopes: ['read'], expiresIn: 600 }));
      const later = new Date(e.w.server.clock.now().getTime() + 86_400_000).toISOString();
      judge(group, 403, await call(e, 'PATCH', keyPath(child.body.data.id), h, { expiresAt: later }));
      const forever = await keyOf(e, m);
      const regen = await call(e, 'POST', `/api-key/regenerate/${forever.id}`, h, {});
      judge(group, 403, regen);
      expect(JSON.stringify(regen.body)).not.toMatch(/"key":"/);
    }
    for (const limits of [{ remaining: 50 }, { rateLimit: { requestsPerMinute: 100 } }, { refill: { interval: 'day', amount: 10 } }]) {
      const k = await keyOf(e, m, { scopes: ['read', 'write'], ...limits });
      const h = { 'x-api-key': k.key, orgid: e.org };
      judge(group, 403, await call(e, 'POST', '/api-key/create', h, { name: 'unlimited child', scopes: ['read'] }));
      judge(group, 403, await call(e, 'POST', `/api-key/regenerate/${(await keyOf(e, m)).id}`, h, {}));
      // Its own secret it may still rotate.
      judge(group, 'allow', await call(e, 'POST', `/api-key/regenerate/${k.id}`, h, {}));
    }
  });

  test('attack: a key restricted to an address range widens or removes its own allowlist (with its secret or a token exchanged from it), or hands on a key usable from anywhere (creates one, lifts the list of another, regenerates one to receive its secret); a member lifts an allowlist an admin imposed', async () => {
    const group = 'named attacks';
    const m = e.users.member[0];
    const a = e.users.admin[0];
    const k = await keyOf(e, m, { scopes: ['read', 'write'], ipAllowlist: { cidrs: ['127.0.0.0/8', '::1/128'] } });
    const itself = { 'x-api-key': k.key, orgid: e.org };
    const exchanged = await signInWithApiKey(e.url, e.org, { key: k.key, keyId: k.id, userId: m.userId });
    expect(exchanged.status).toBe(200);
    const viaToken = { authorization: `Bearer ${exchanged.body.id_token}`, orgid: e.org };
    for (const h of [itself, viaToken]) {
      judge(group, 403, await call(e, 'PATCH', keyPath(k.id), h, { ipAllowlist: { cidrs: ['0.0.0.0/0', '::/0'] } }));
      judge(group, 403, await call(e, 'PATCH', keyPath(k.id), h, { ipAllowlist: { cidrs: [] } }));
    }
    // Nor does it hand on a key usable from elsewhere: a key it creates keeps within its list (inherits
    // it when naming none), and it neither lifts another key's list nor receives the secret of a key usable anywhere.
    for (const h of [itself, viaToken]) {
      const child = await call(e, 'POST', '/api-key/create', h, { name: 'child', scopes: ['read'] });
      judge(group, 'allow', child);
      expect(child.body.data.apiKey.ipAllowlist.cidrs).toEqual(['127.0.0.0/8', '::1/128']);
      judge(group, 403, await call(e, 'POST', '/api-key/create', h, { name: 'child', scopes: ['read'], ipAllowlist: { cidrs: ['0.0.0.0/0'] } }));
      judge(group, 403, await call(e, 'POST', '/api-key/create', h, { name: 'child', scopes: ['read'], ipAllowlist: { cidrs: ['127.0.0.0/7'] } }));
      const narrower = await call(e, 'POST', '/api-key/create', h, { name: 'child', scopes: ['read'], ipAllowlist: { cidrs: ['127.0.0.1'] } });
      judge(group, 'allow', narrower);
      const anywhere = await keyOf(e, m);
      judge(group, 403, await call(e, 'PATCH', keyPath(anywhere.id), h, { name: 'still anywhere', ipAllowlist: { cidrs: [] } }));
      const regen = await call(e, 'POST', `/api-key/regenerate/${anywhere.id}`, h, {});
      judge(group, 403, regen);
      expect(JSON.stringify(regen.body)).not.toMatch(/"key":"/);
      judge(group, 'allow', await call(e, 'PATCH', keyPath(anywhere.id), h, { ipAllowlist: { cidrs: ['127.0.0.1/32'] } }));
      judge(group, 'allow', await call(e, 'POST', `/api-key/regenerate/${anywhere.id}`, h, {}));
    }
    // An admin narrows it; the member (any credential) lifts nothing the admin set.
    judge(group, 'allow', await call(e, 'PATCH', keyPath(k.id), { ...cookie(a), orgid: e.org }, { ipAllowlist: { cidrs: ['127.0.0.1/32', '::1/128'] } }));
    for (const cred of CREDS) {
      judge(group, 403, await call(e, 'PATCH', keyPath(k.id), { ...e.creds.member[cred], orgid: e.org }, { ipAllowlist: { cidrs: [] } }));
      judge(group, 403, await call(e, 'PATCH', keyPath(k.id), { ...e.creds.member[cred], orgid: e.org }, { ipAllowlist: { cidrs: ['127.0.0.0/8'] } }));
    }
    const seen = await call(e, 'GET', keyPath(k.id), { ...cookie(m), orgid: e.org });
    expect((seen.body.data.apiKey ?? seen.body.data).ipAllowlist.cidrs).toEqual(['127.0.0.1/32', '::1/128']);
  });
});
